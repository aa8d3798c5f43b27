import { Readable } from 'node:stream';
import { artifactScopeOf, type ArtifactStore } from '../artifacts/store.ts';
import { ServerError } from '../errors.ts';
import { callerOf, type Handlers } from './types.ts';

export function artifactHandlers(artifacts: ArtifactStore): Handlers {
  return {
    uploadArtifact: async (request, reply) => {
      const { filename } = request.query as { filename?: string };
      // Only application/octet-stream arrives as the raw stream; fastify's JSON or text parser would have
      // re-encoded any other body (quotes dropped, bytes changed) before it reached the store.
      if (!(request.body instanceof Readable))
        throw new ServerError(
          'UNSUPPORTED_MEDIA_TYPE',
          `send the file as application/octet-stream, not ${request.headers['content-type'] ?? 'no content type'}`,
        );
      const { artifact, created } = await artifacts.put(request.body, {
        mediaType: 'application/octet-stream',
        filename,
        uploader: callerOf(request),
      });
      return reply.status(created ? 201 : 200).send(artifact);
    },
    getArtifact: async (request) => {
      const caller = callerOf(request);
      return artifacts.info(
        (request.params as { sha256: string }).sha256,
        caller,
        artifactScopeOf(caller.role),
      );
    },
  };
}
