/**
 * STS on the local stack: `GetCallerIdentity`, which tools call to learn the account (the command line
 * derives the bucket name from it). Answers in the query protocol (form body, XML) and in JSON
 * (`X-Amz-Target: AWSSecurityTokenServiceV20110615.GetCallerIdentity`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface StsApi {
  handle(req: IncomingMessage, res: ServerResponse, body: Buffer, context: { requestId: string; accessKeyId: string }): void;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[char]!);
}

/** Builds the STS API answering for `accountId`. */
export function createStsApi(accountId: string): StsApi {
  return {
    handle(req, res, body, context) {
      const target = String(req.headers['x-amz-target'] ?? '');
      const json = target !== '';
      const url = new URL(req.url ?? '/', 'http://localhost');
      const form = new URLSearchParams(body.toString('utf8'));
      const action = json ? target.split('.').pop() ?? '' : (form.get('Action') ?? url.searchParams.get('Action') ?? '');
      const identity = { UserId: `AIDA${context.accessKeyId.toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 17) || 'LOCAL'}`, Account: accountId, Arn: `arn:aws:iam::${accountId}:root` };
      if (action === 'GetCallerIdentity') {
        if (json) {
          const text = JSON.stringify(identity);
          res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1', 'x-amzn-RequestId': context.requestId, 'Content-Length': Buffer.byteLength(text) });
          res.end(text);
          return;
        }
        const xml =
          `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
          `<Arn>${escapeXml(identity.Arn)}</Arn><UserId>${escapeXml(identity.UserId)}</UserId><Account>${accountId}</Account>` +
          `</GetCallerIdentityResult><ResponseMetadata><RequestId>${context.requestId}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;
        res.writeHead(200, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': context.requestId, 'Content-Length': Buffer.byteLength(xml) });
        res.end(xml);
        return;
      }
      const message = `The local STS serves GetCallerIdentity only; ${action ? `"${action}" is not served` : 'the request names no Action'}`;
      if (json) {
        const text = JSON.stringify({ __type: 'InvalidAction', message });
        res.writeHead(400, { 'Content-Type': 'application/x-amz-json-1.1', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      const xml = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${context.requestId}</RequestId></ErrorResponse>`;
      res.writeHead(400, { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(xml) });
      res.end(xml);
    },
  };
}
