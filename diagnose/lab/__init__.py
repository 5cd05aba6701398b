"""netwhy's lab: setups rebuilt in real network namespaces, to check the knowledge against the
kernel (`netwhy lab verify`). plan.py turns a Setup into a topology, sandbox.py builds and
probes it, verify.py compares what the kernel did with netwhy's verdicts."""
