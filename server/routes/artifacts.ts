import { Readable } from 'node:stream';
import { artifactScopeOf, type ArtifactStore } from '../artifacts/store.ts';
import { isUnlimited } from '../auth/scope.ts';
import { ServerError } from '../errors.ts';
import { callerOf, type Handlers } from './types.ts';

// The names uploadArtifact accepts; one given otherwise (before the contract said so) is not put in a header.
const SAFE_FILENAME = /^[A-Za-z0-9._-]{1,200}$/;

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
    downloadArtifact: async (request, reply) => {
      const caller = callerOf(request);
      // A CI identity reads only the bytes it uploaded itself (an evaluation's adverse-action reasons are
      // recorded as its submitter's). So does an identity limited to some models or regions, whatever its
      // role: an artifact belongs to no model, and its bytes (a model, evaluation data about people) could be
      // another team's.
      const { artifact, body } = await artifacts.read(
        (request.params as { sha256: string }).sha256,
        caller,
        isUnlimited(caller) ? artifactScopeOf(caller.role) : 'own',
      );
      // The bytes are served as they are, never as a type a browser would render.
      const name =
        artifact.filename && SAFE_FILENAME.test(artifact.filename) ? artifact.filename : artifact.sha256;
      return reply
        .type('application/octet-stream')
        .header('content-length', artifact.size)
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('x-content-type-options', 'nosniff')
        .send(body);
    },
  };
}
