/** Raised when `serverless.yml` holds something the local stack cannot run; the message names the path and the rule. */
export class ServerlessConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServerlessConfigError';
  }
}

/**
 * Raised when a framework variable cannot be resolved; the message names the variable and where it was used.
 * It is a {@link ServerlessConfigError}: callers that refuse a bad `serverless.yml` need not tell the two apart.
 */
export class ServerlessVariableError extends ServerlessConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'ServerlessVariableError';
  }
}
