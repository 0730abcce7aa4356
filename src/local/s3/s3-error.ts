/**
 * An S3 error response: the AWS error code, its HTTP status and the extra fields S3 puts in the XML
 * (`Key`, `BucketName`, `Condition`, ...), so clients see the same error names as on AWS.
 */
export class S3ServiceError extends Error {
  readonly code: string;
  readonly status: number;
  readonly fields: Record<string, string>;

  constructor(code: string, status: number, message: string, fields: Record<string, string> = {}) {
    super(message);
    this.name = 'S3ServiceError';
    this.code = code;
    this.status = status;
    this.fields = fields;
  }
}

export const noSuchBucket = (bucket: string) =>
  new S3ServiceError('NoSuchBucket', 404, 'The specified bucket does not exist', { BucketName: bucket });
export const noSuchKey = (key: string) => new S3ServiceError('NoSuchKey', 404, 'The specified key does not exist.', { Key: key });
export const noSuchUpload = (uploadId: string) =>
  new S3ServiceError(
    'NoSuchUpload',
    404,
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  );
export const preconditionFailed = (condition: string) =>
  new S3ServiceError('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', { Condition: condition });
export const invalidArgument = (name: string, value: string, message: string) =>
  new S3ServiceError('InvalidArgument', 400, message, { ArgumentName: name, ArgumentValue: value });
export const malformedXml = (detail: string) =>
  new S3ServiceError('MalformedXML', 400, `The XML you provided was not well-formed or did not validate against our published schema: ${detail}`);
export const notImplemented = (what: string) =>
  new S3ServiceError('NotImplemented', 501, `A header or parameter you provided implies functionality that is not implemented by the local S3: ${what}`);
