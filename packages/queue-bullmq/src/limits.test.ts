import { createMessage } from '@mailport/core';
import { describe, expect, it } from 'vitest';
import { defaultLimitKey, limitProblem, limitsFor, providerDefaults } from './limits.js';

describe('limit keys and defaults', () => {
  it.each([
    ['ses://AKIAEXAMPLE:secret@eu-west-1', /^ses:eu-west-1:[0-9a-f]{16}$/],
    ['gmail://User@Example.com?client_id=c', /^gmail:user@example\.com$/],
    ['graph://ana@contoso.com?tenant=T1&client_secret=s', /^graph:t1:ana@contoso\.com$/],
    ['smtp://me:pw@mail.example.com:587', /^smtp:mail\.example\.com:587:me$/],
  ])('%s', (url, key) => {
    expect(defaultLimitKey(url)).toMatch(key);
    expect(defaultLimitKey(url)).not.toMatch(/secret|pw\b/);
  });

  it('counts recipients where the provider does, and passes the margin of each rate', () => {
    const message = createMessage({ from: 'a@example.com', to: ['b@example.org', 'c@example.org'], cc: 'd@example.org', text: 'x' });
    const ses = limitsFor(providerDefaults.ses ?? {}, message);
    expect(ses.rates).toEqual([{ max: 14, perMs: 1000, marginMs: 0, cost: 3 }]);
    expect(ses.quotas).toEqual([{ max: 50_000, windowMs: 86_400_000, cost: 3 }]);
    expect(limitsFor(providerDefaults.gmail ?? {}, message).quotas).toEqual([{ max: 2000, windowMs: 86_400_000, cost: 1 }]);
  });

  it('refuses zero and negative limits', () => {
    expect(limitProblem({ rates: [{ max: 0, perMs: 1000 }] })).toMatch(/positive/);
    expect(limitProblem({ concurrency: 1.5 })).toMatch(/positive integer/);
    expect(limitProblem(providerDefaults.graph ?? {})).toBeUndefined();
  });
});
