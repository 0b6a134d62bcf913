"""``backpain-cds bench``: the load benchmark (floor app vs service under wrk) and the micro-benchmark.

Modules: ``bodies`` (deterministic request bodies), ``floor`` (the framework floor app), ``server``
(start, pin and stop a uvicorn process), ``procstat`` (CPU time, memory and machine noise from /proc),
``wrk`` (the load generator and its Lua script), ``runner`` (passes and workloads), ``nofetch``
(the no-prefetch workload against a FHIR server), ``report`` (ratios, checks, table, JSON) and
``micro`` (in-process timing of parse, gather, evaluate and serialise).
"""
