"""Settings numpy's OpenBLAS reads once, when it loads: imported first by ``corenn``
(see :func:`corenn.threads.quiet_idle_blas_workers`)."""

from .threads import quiet_idle_blas_workers

quiet_idle_blas_workers()
