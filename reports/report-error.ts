// The one error type the report raises for bad inputs or a missing environment piece.
// The CLI prints its message as one line and exits 2; anything else is a bug and keeps its stack.
export class ReportError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly column?: string,
  ) {
    super(message);
    this.name = 'ReportError';
  }
}
