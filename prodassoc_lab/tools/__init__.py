"""Tools of the book's site and benchmarks, apart from the teaching modules.

- :mod:`~prodassoc_lab.tools.student_edition` — the site without the worked solutions;
- :mod:`~prodassoc_lab.tools.measure` — peak memory, fresh processes and the CPU, for measurements.
"""
