/** Streaming inspection and safe extraction of model artifacts (`.tar.gz`), per DESIGN.md §6 "Archive checks". */
export * from './errors';
export * from './limits';
