// `agentdb request approve|deny ID`: a reviewer's decision on a held statement or a role request.
import { ApiClient } from '../../../client/index.js';
import { what, type RequestView } from './view.js';

export async function approve(id: string): Promise<void> {
  const r = await ApiClient.use((api) => api.post<RequestView>(`/v1/requests/${encodeURIComponent(id)}/approve`));
  process.stdout.write(`Approved ${r.id} (${what(r)})\n`);
}

export async function deny(id: string, o: { reason?: string }): Promise<void> {
  const r = await ApiClient.use((api) => api.post<RequestView>(`/v1/requests/${encodeURIComponent(id)}/deny`, o.reason ? { reason: o.reason } : {}));
  process.stdout.write(`Denied ${r.id} (${what(r)})\n`);
}
