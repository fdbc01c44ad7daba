// The test targets' one import: the emulated Windows device and the lab (scratch PostgreSQL, free ports) come with
// the storage conformance suite.
@_exported import MDMEmulator
@_exported import MDMLab
