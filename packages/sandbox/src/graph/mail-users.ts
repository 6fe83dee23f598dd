import type { HttpRequest, HttpResponse, Route } from '../http.js';
import { graphHeaders } from './errors.js';
import { type Caller, displayName, type GraphMailContext, userId } from './mail-context.js';

/** GET /users/{id} and /me: the user object, as a directory read (an unknown user is Request_ResourceNotFound). */
export function userRoutes(mail: GraphMailContext): Route[] {
  const { base, mailboxRoute } = mail;

  const getUser = (request: HttpRequest, caller: Caller): HttpResponse => {
    const name = displayName(caller.mailbox);
    const [given, ...rest] = name.split(' ');
    return {
      status: 200,
      headers: graphHeaders(request),
      body: {
        '@odata.context': `${base(request)}/v1.0/$metadata#users/$entity`,
        businessPhones: [],
        displayName: name,
        givenName: given ?? null,
        jobTitle: null,
        mail: caller.mailbox,
        mobilePhone: null,
        officeLocation: null,
        preferredLanguage: 'en-US',
        surname: rest.join(' ') || null,
        userPrincipalName: caller.mailbox,
        id: userId(caller.mailbox),
      },
    };
  };

  return mailboxRoute('GET', '', 'graph.getUser', getUser, 'directory');
}
