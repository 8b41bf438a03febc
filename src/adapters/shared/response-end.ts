import type { ServerResponse } from 'node:http';

/**
 * Report once how a Node response ended: its status once finished, undefined if the client went
 * away (or the socket failed) first. A response already closed reports at once, so that what a
 * request holds is given back even when the client left while it was being decided.
 */
export function onResponseEnd(
  response: ServerResponse,
  ended: (statusCode: number | undefined) => void,
): void {
  if (response.closed) {
    ended(response.writableFinished ? response.statusCode : undefined);
    return;
  }
  let reported = false;
  const once = (statusCode: number | undefined) => {
    if (reported) return;
    reported = true;
    ended(statusCode);
  };
  response.once('finish', () => {
    once(response.statusCode);
  });
  response.once('close', () => {
    once(response.writableFinished ? response.statusCode : undefined);
  });
}
