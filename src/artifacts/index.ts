/** Streaming inspection and safe extraction of model artifacts (`.tar.gz`), per DESIGN.md §6 "Archive checks". */
export type { ArchiveSource } from './archive-scan';
export * from './errors';
export { extractArchive } from './extract';
export { inspectArchive, type ArchiveInspection } from './inspect';
export * from './limits';
