import { CliFailure } from '../output.ts';

/** The demo's HTTP calls: one base URL, a bearer token per caller, and a readable failure on any surprise. */
export class DemoApi {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  /** The same service, called as someone else. */
  as(token: string): DemoApi {
    return new DemoApi(this.url, token);
  }

  async json<T>(method: string, route: string, body?: unknown, expected = [200, 201, 202]): Promise<T> {
    const response = await this.send(method, route, {
      body: body === undefined ? undefined : JSON.stringify(body),
      contentType: body === undefined ? undefined : 'application/json',
    });
    const text = await response.text();
    if (!expected.includes(response.status)) {
      throw new CliFailure(`${method} ${route}: HTTP ${response.status}: ${text}`);
    }
    return JSON.parse(text) as T;
  }

  async bytes(route: string): Promise<Buffer> {
    const response = await this.send('GET', route, {});
    if (response.status !== 200) {
      throw new CliFailure(`GET ${route}: HTTP ${response.status}: ${await response.text()}`);
    }
    return Buffer.from(await response.arrayBuffer());
  }

  async upload(filename: string, bytes: Uint8Array): Promise<string> {
    const response = await this.send('POST', `/v1/artifacts?filename=${encodeURIComponent(filename)}`, {
      body: bytes,
      contentType: 'application/octet-stream',
    });
    const text = await response.text();
    if (response.status !== 200 && response.status !== 201) {
      throw new CliFailure(`upload ${filename}: HTTP ${response.status}: ${text}`);
    }
    return (JSON.parse(text) as { sha256: string }).sha256;
  }

  private send(
    method: string,
    route: string,
    options: { body?: string | Uint8Array; contentType?: string },
  ): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (options.contentType) headers['content-type'] = options.contentType;
    return fetch(`${this.url}${route}`, { method, headers, body: options.body });
  }
}
