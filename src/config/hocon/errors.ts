// The single error type of the HOCON parser: every problem carries the file, line and column
// where it was found, so an operator can go straight to the offending text.

export type HoconErrorCode = 'hocon_syntax' | 'hocon_include' | 'hocon_substitution';

export interface HoconPosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export class HoconError extends Error {
  readonly code: HoconErrorCode;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The message without the `file:line:column: ` prefix. */
  readonly reason: string;

  constructor(code: HoconErrorCode, at: HoconPosition, reason: string) {
    super(`${at.file}:${at.line}:${at.column}: ${reason}`);
    this.name = 'HoconError';
    this.code = code;
    this.file = at.file;
    this.line = at.line;
    this.column = at.column;
    this.reason = reason;
  }
}
