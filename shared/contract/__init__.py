"""The API's vocabulary inside the domain: errors, ids, timestamps, paging, bodies."""
