# tests/iomap: owned by the iomap test-client work (included from Makefile.am).
