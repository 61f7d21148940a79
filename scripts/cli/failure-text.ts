// Failure messages for narrow places (a table cell, a progress line): the request's URL, which is most
// of a message's length and says nothing the host does not, becomes its host, so the root cause at the end
// (host not found (ENOTFOUND …), HTTP 503: <body>) fits. The full message stays in --json and the log row.

/** The first URL only: the request's. Later ones belong to the body the source sent, which is quoted as it was. */
const URL_IN_TEXT = /https?:\/\/[^\s/?#]+[^\s]*?(?=:\s|\s|$)/;

/** `src GET https://api.x.org/v2/a?b=1: host not found (…)` → `src GET api.x.org: host not found (…)`. */
export function shortFailure(message: string): string {
  return message.replace(URL_IN_TEXT, (url) => {
    try {
      return new URL(url).host;
    } catch {
      return url;
    }
  });
}
