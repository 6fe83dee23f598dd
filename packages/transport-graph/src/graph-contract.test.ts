import { sandboxContract } from '@mailport/sandbox/contract';
import { describeTransportContract } from '@mailport/testkit';

describeTransportContract(sandboxContract('graph', { name: 'graph (MIME mode)' }));
