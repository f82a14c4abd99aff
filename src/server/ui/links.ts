// Links into the console from outside it (the review webhook's payload).
export const CONSOLE_PATH = '/ui';

/** The page of one access request, under the control plane's public URL. */
export function requestPageUrl(publicUrl: string, requestId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${CONSOLE_PATH}/requests/${encodeURIComponent(requestId)}`;
}
