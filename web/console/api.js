// The console's calls to its node: the admin token lives in sessionStorage (gone with the tab) and
// travels only as an Authorization header, never in a URL.
const TOKEN_ITEM = 'ratelimiter.console.adminToken';

export const session = {
  token: () => sessionStorage.getItem(TOKEN_ITEM),
  keep: (token) => sessionStorage.setItem(TOKEN_ITEM, token),
  forget: () => sessionStorage.removeItem(TOKEN_ITEM),
};

/** A refusal of the token (401): the page goes back to its sign-in form. */
export class Unauthorized extends Error {}

/** A failure that is not the token's: shown, and the next refresh tries again. */
export class Unavailable extends Error {}

async function getJson(path, token) {
  let response;
  try {
    response = await fetch(path, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new Unavailable('the node did not answer');
  }
  if (response.status === 401) throw new Unauthorized('the admin token was refused');
  const body = await response.json().catch(() => undefined);
  if (!response.ok) {
    const code = body?.error?.code ?? `http ${response.status}`;
    throw new Unavailable(`${path} answered ${response.status} (${code})`);
  }
  return body;
}

/** The deployment merged by this node (src/protocol/console.ts, WireConsoleSnapshot). */
export const snapshot = (token) => getJson('/v1/console/snapshot', token);

/** RLQS buckets with live proxies (GET /v1/quotas): their limit and the tokens assigned. */
export const quotas = (token) => getJson('/v1/quotas', token);
