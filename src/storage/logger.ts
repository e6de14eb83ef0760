// The slice of a logger the log uses; a pino Logger fits it.

export interface WalLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export const silentLogger: WalLogger = {
  info: () => {},
  warn: () => {},
};
