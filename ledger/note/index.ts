export {
  SIG_TYPE_ED25519,
  ed25519Signer,
  formatVerifierKey,
  isValidKeyName,
  keyId,
  openNote,
  parseGoPrivateKey,
  parseVerifierKey,
  signNote,
} from './signed-note.ts';
export type { NoteSignature, NoteSigner, NoteVerifier, OpenedNote } from './signed-note.ts';
export { formatCheckpoint, parseCheckpoint } from './checkpoint.ts';
export type { Checkpoint } from './checkpoint.ts';
export { signCheckpointEip191, verifyCheckpointEip191 } from './eip191.ts';
