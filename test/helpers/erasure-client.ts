import assert from 'node:assert/strict';

/** HTTP calls of the erasure tests, against a real server (embedded or distributed). */
export class ErasureClient {
  readonly #url: () => string;

  constructor(url: string | (() => string)) {
    this.#url = typeof url === 'string' ? () => url : url;
  }

  async call(method: string, path: string, body?: object): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${this.#url()}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  }

  async accepted(method: string, path: string, body?: object): Promise<void> {
    const res = await this.call(method, path, body);
    assert.equal(res.status, 202, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  /** Bulk writes with `?wait=applied`, in chunks. */
  async write(events: readonly { op: 'like' | 'unlike'; postId: string; userId: string }[]): Promise<void> {
    for (let i = 0; i < events.length; i += 1000) await this.accepted('POST', '/v1/events?wait=applied', { events: events.slice(i, i + 1000) });
  }

  async counts(posts: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < posts.length; i += 400) {
      const res = await this.call('GET', `/v1/counts?posts=${posts.slice(i, i + 400).join(',')}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      for (const [post, n] of Object.entries(res.body.counts as Record<string, number>)) out.set(post, n);
    }
    return out;
  }

  /** Every liker of a post (all pages). */
  async likers(postId: string): Promise<string[]> {
    const users: string[] = [];
    let cursor: string | null | undefined;
    do {
      const res = await this.call('GET', `/v1/posts/${postId}/likes?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      for (const item of res.body.items as { userId: string }[]) users.push(item.userId);
      cursor = res.body.nextCursor as string | null;
    } while (cursor);
    return users.sort();
  }

  /** Every post of a user's Likes tab (all pages), ascending. */
  async likesTab(userId: string): Promise<string[]> {
    const posts: string[] = [];
    let cursor: string | null | undefined;
    do {
      const res = await this.call('GET', `/v1/users/${userId}/likes?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      for (const item of res.body.items as { postId: string }[]) posts.push(item.postId);
      cursor = res.body.nextCursor as string | null;
    } while (cursor);
    return posts.sort();
  }

  async erasure(userId: string): Promise<Record<string, unknown>> {
    const res = await this.call('GET', `/v1/users/${userId}/erasure`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }
}
