import type { Readable } from 'node:stream';
import type { ArtifactStore } from '../artifacts/store.ts';
import { callerOf, type Handlers } from './types.ts';

export function artifactHandlers(artifacts: ArtifactStore): Handlers {
  return {
    uploadArtifact: async (request, reply) => {
      const { filename } = request.query as { filename?: string };
      const { artifact, created } = await artifacts.put(request.body as Readable, {
        mediaType: 'application/octet-stream',
        filename,
        createdBy: callerOf(request).subject,
      });
      return reply.status(created ? 201 : 200).send(artifact);
    },
    getArtifact: async (request) => artifacts.info((request.params as { sha256: string }).sha256),
  };
}
