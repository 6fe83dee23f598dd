import type { HttpResponse, Route } from '../http.js';
import type { SesContext } from './ses-context.js';

/** GetAccount (GET /v2/email/account): the sending state and quota SES reports. */
export function accountRoutes(ses: SesContext): Route[] {
  const getAccount = (): HttpResponse => {
    const account = ses.account();
    return ses.ok({
      DedicatedIpAutoWarmupEnabled: false,
      EnforcementStatus: account.enforcementStatus,
      ProductionAccessEnabled: account.productionAccess,
      SendQuota: { Max24HourSend: account.max24HourSend, MaxSendRate: account.maxSendRate, SentLast24Hours: ses.sentLast24Hours() },
      SendingEnabled: account.sendingEnabled,
      SuppressionAttributes: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
    });
  };

  return [{ method: 'GET', path: '/v2/email/account', endpoint: 'ses.GetAccount', handle: ses.guarded(getAccount, false) }];
}
