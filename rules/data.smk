# The documents of every registry task, settled on the login node before any job reads them: a hub
# snapshot at a pinned commit (data spec) or local files (data_root / data_sources), checked against the
# task's templates, with a SHA-256 manifest (iclprune.evaluate.taskdata). Jobs then read only those files,
# offline. Bundled tasks (tasks/*.yaml) carry their own files and need no such job.


rule task_data:
    """Snapshot (or take the local files of) one task's dataset and write its checksum manifest."""
    input:
        local_files=task_data_inputs,
    output:
        manifest="results/data/{task}/{source}.json",
    log:
        "logs/data/{task}/{source}.log",
    wildcard_constraints:
        task=one_of(list(DATA_SOURCES)),
    priority: 100
    localrule: True
    container:
        CONTAINER
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        source=lambda wildcards: DATA_SOURCES[wildcards.task].to_json(),
    script:
        "../scripts/task_data.py"
