export { contractCases, describeTransportContract } from './contract.js';
export { type ErrorTableOptions, type ErrorTableRow, runErrorTable } from './error-table.js';
export type { ContractBackend, ContractFault, ContractHarness, ReceivedMail } from './harness.js';
