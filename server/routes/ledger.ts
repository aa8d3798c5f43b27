import { MAX_BUNDLE_ENTRIES, parseTilePath, type Ledger } from '../../ledger/index.ts';
import type { WaiverStore } from '../../policies/index.ts';
import type { Region } from '../../regions/index.ts';
import { assertCoversRegion, assertInScope } from '../auth/index.ts';
import { ServerError } from '../errors.ts';
import { auditCitations } from '../ledger-entries.ts';
import { callerOf, type Handlers } from './types.ts';

interface RegionParams {
  region: string;
}

/** Full tiles never change; partial tiles and checkpoints do. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

export function ledgerHandlers(
  ledger: Ledger,
  waivers: WaiverStore,
  regions: ReadonlyMap<string, Region>,
  clock: () => Date,
): Handlers {
  const regionOf = (params: unknown): string => {
    const { region } = params as RegionParams;
    if (!regions.has(region)) throw new ServerError('NOT_FOUND', `no region ${region}`);
    return region;
  };
  const reader = ledger.reader;
  return {
    listRegions: async () => ({
      regions: [...regions.values()].map((r) => ({
        id: r.id,
        name: r.name,
        timezone: r.timezone,
        locale: r.locale,
        ledger: r.ledger,
        retention: r.retention,
        regulations: r.regulations,
        reports: r.reports,
      })),
    }),
    getCheckpoint: async (request, reply) =>
      reply.type('text/plain; charset=utf-8').send(await reader.checkpoint(regionOf(request.params))),
    getTlogCheckpoint: async (request, reply) =>
      reply
        .type('text/plain; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(await reader.checkpoint(regionOf(request.params))),
    getLedgerKeys: async (request) => reader.keys(regionOf(request.params)),
    getLedgerEntry: async (request) => {
      const { seq } = request.params as { seq: number };
      return reader.entry(regionOf(request.params), seq);
    },
    getInclusionProof: async (request) => {
      const { seq, size } = request.query as { seq: number; size: number };
      return reader.inclusionProof(regionOf(request.params), seq, size);
    },
    getConsistencyProof: async (request) => {
      const { from, to } = request.query as { from: number; to: number };
      return reader.consistencyProof(regionOf(request.params), from, to);
    },
    listAnchors: async (request) => ({ anchors: await reader.anchors(regionOf(request.params)) }),
    getAuditBundle: async (request) => {
      const region = regionOf(request.params);
      const query = request.query as { from?: number; to?: number; trusted_size?: number };
      const { size } = await reader.treeHead(region);
      const trustedSize = query.trusted_size;
      // The reader would answer 404 (not integrated yet); for the caller it is a bad argument to this call.
      if (trustedSize !== undefined && trustedSize > size)
        throw new ServerError('BAD_REQUEST', `trusted_size ${trustedSize} exceeds the tree size ${size}`, {
          field: 'trusted_size',
        });
      // Without `to`, as many entries as one bundle holds: a log past that size would otherwise answer 400
      // to a request that names no range at all.
      const from = query.from ?? 0;
      const to = query.to ?? Math.min(size, from + MAX_BUNDLE_ENTRIES);
      return reader.bundle(region, from, to, {
        trustedSize,
        cite: auditCitations(reader, waivers, region, from),
      });
    },
    createAttestation: async (request, reply) => {
      const region = regionOf(request.params);
      const body = request.body as { statement: string; subject?: object; references?: string[] };
      const caller = callerOf(request);
      // An attestation about a model needs that model in the caller's scope; one about no model speaks for
      // the whole region.
      const model = (body.subject as { model?: unknown } | undefined)?.model;
      if (typeof model === 'string') assertInScope(caller, { region, model });
      else assertCoversRegion(caller, region);
      const receipt = await ledger.append(region, {
        type: 'attestation',
        statement: body.statement,
        subject: body.subject ?? null,
        references: body.references ?? [],
        actor: { subject: caller.subject, issuer: caller.issuer, role: caller.role },
        at: clock().toISOString(),
      });
      return reply.status(201).send({ region, seq: receipt.seq, leaf_hash: receipt.leafHash });
    },
    getTlogTile: {
      url: '/v1/ledger/:region/tlog/tile/*',
      schema: {
        params: {
          type: 'object',
          required: ['region', '*'],
          properties: {
            region: { type: 'string', pattern: '^[a-z][a-z0-9]*(-[a-z0-9]+)*$' },
            '*': { type: 'string' },
          },
        },
      },
      handler: async (request, reply) => {
        const region = regionOf(request.params);
        const rest = (request.params as { '*': string })['*'];
        const tile = parseTilePath(`tile/${rest}`);
        if (!tile) throw new ServerError('NOT_FOUND', `no tile ${rest}`);
        const bytes =
          tile.kind === 'entries'
            ? await reader.entryBundle(region, tile.index, tile.width)
            : await reader.tile(region, tile.level, tile.index, tile.width);
        return reply
          .type('application/octet-stream')
          .header('cache-control', tile.width === undefined ? IMMUTABLE : 'no-cache')
          .send(Buffer.from(bytes));
      },
    },
  };
}
