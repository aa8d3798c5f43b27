/** A command that failed with a message for the user and an exit code (2: error; commands document theirs). */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}
