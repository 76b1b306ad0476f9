import Ajv2020 from 'ajv/dist/2020';
import { openApiDocument } from '../../src/api/openapi';

/**
 * Checks api responses against the OpenAPI document the api serves: the operation must list the
 * status, and a JSON body must validate against its schema.
 */
const doc = openApiDocument({ PUBLIC_BASE_URL: 'http://x' }) as any;
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ $id: 'api', components: doc.components });

export function checkAgainstSpec(method: 'get' | 'post' | 'delete', pathTemplate: string, status: number, body?: unknown): void {
  const op = doc.paths[pathTemplate]?.[method];
  if (!op) throw new Error(`${method.toUpperCase()} ${pathTemplate} is not in the OpenAPI document`);
  const response = op.responses[String(status)];
  if (!response) throw new Error(`${method.toUpperCase()} ${pathTemplate} does not document status ${status}`);
  const schema = response.content?.['application/json']?.schema;
  if (!schema || body === undefined) return;
  const validate = ajv.compile({ $ref: `api${schema.$ref}` });
  if (!validate(body)) throw new Error(`${method.toUpperCase()} ${pathTemplate} ${status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 600)}`);
}
