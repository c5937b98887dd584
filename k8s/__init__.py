"""The Kubernetes manifests, the Grafana dashboard and their offline checker.

A package only so that the checker's modules can import one another: run it from the
repository root with `python -m k8s.check` (`make k8s-check`). Nothing here is shipped
in the service's wheel.
"""
