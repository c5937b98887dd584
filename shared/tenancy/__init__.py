"""Who exists and who may do what: companies, people, agents, keys, access rules."""
