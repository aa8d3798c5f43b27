import { makeError } from 'ethers';
import { describe, expect, it } from 'vitest';
import { describeRpcError, redactRpcUrl } from '../../../ledger/anchor/rpc-error.ts';

// An anchor failure is logged: it must name what failed and never the endpoint, whose URL often holds an API key.
const rpcUrl = 'https://user:pa55word@mainnet.rpc.example:8545/v3/SECRET-PROJECT-KEY?token=t0ken';

describe('describeRpcError', () => {
  it("gives an ethers error's code and short message, without the request URL it carries", () => {
    // As ethers' FetchResponse.assertOk builds it for an HTTP 401.
    const err = makeError('server response 401 Unauthorized', 'SERVER_ERROR', {
      request: undefined as never,
      response: undefined as never,
      info: {
        requestUrl: rpcUrl,
        responseBody: '{"error":"invalid project id"}',
        responseStatus: '401 Unauthorized',
      },
    });
    expect(err.message).toContain('SECRET-PROJECT-KEY');
    expect(describeRpcError(err, rpcUrl)).toBe('SERVER_ERROR: server response 401 Unauthorized');
  });

  it("adds the node's own answer to a JSON-RPC error", () => {
    const err = makeError('could not coalesce error', 'UNKNOWN_ERROR', {
      error: { code: -32003, message: 'max fee per gas less than block base fee' },
      payload: { method: 'eth_sendRawTransaction', params: ['0x02f8'] },
    });
    expect(describeRpcError(err, rpcUrl)).toBe(
      'UNKNOWN_ERROR: could not coalesce error (max fee per gas less than block base fee)',
    );
  });

  it("takes the host out of Node's connection errors", () => {
    const err = Object.assign(new Error('connect ECONNREFUSED mainnet.rpc.example:8545'), {
      code: 'ECONNREFUSED',
    });
    expect(describeRpcError(err, rpcUrl)).toBe('ECONNREFUSED: connect ECONNREFUSED <rpc>');
  });

  it('keeps only the first line of a plain error, and anything but an error as text', () => {
    expect(describeRpcError(new Error(`fetch failed\n  at ${rpcUrl}`), rpcUrl)).toBe('fetch failed');
    expect(describeRpcError('boom', rpcUrl)).toBe('boom');
  });
});

describe('redactRpcUrl', () => {
  it('takes out the URL, its path and query, its credentials and host, and any other URL', () => {
    const text =
      `${rpcUrl} /v3/SECRET-PROJECT-KEY?token=t0ken pa55word mainnet.rpc.example:8545 mainnet.rpc.example ` +
      'wss://other.example/key';
    const redacted = redactRpcUrl(text, rpcUrl);
    for (const secret of ['SECRET', 't0ken', 'pa55word', 'mainnet.rpc.example', 'other.example'])
      expect(redacted).not.toContain(secret);
    expect(redacted).toBe('<rpc> <rpc> <rpc> <rpc> <rpc> <rpc>');
  });
});
