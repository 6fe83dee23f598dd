export { contractCases, describeTransportContract } from './contract.js';
export type { ContractBackend, ContractFault, ContractHarness, ReceivedMail } from './harness.js';
