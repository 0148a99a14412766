"""Generators of the iclprune task suite (run them through ``tasks/generate.py``).

Every fact, word list, template and sentence in this package was written for the iclprune project; no
text is copied from any existing benchmark.  Standard library only.

Layout:

* ``common``: shared helpers (``TaskSpec``, per-task seeded RNGs, ``mc``, ``halve``, ``lexical_task``,
  ``generated_splits``, ...) and the constants ``SEED``, ``VAL_CAP``, ``GEN_TRAIN``, ``GEN_VAL``.
* ``icl_<task>``: one module per task, holding the task's word lists / templates and its ``gen_*()``
  function, which returns a ``TaskSpec``.
* ``suite``: the registry ``TASKS`` (task name -> generator, in README order), ``finalize`` (ids and
  validation), the YAML / JSONL writers, ``build_all``, ``write_all``, ``check`` and ``markdown_table``.

Nothing is imported here, so a task module can be imported on its own.
"""
