import { lstat, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { decodeModel, ONNX_ELEMENT_BYTES, type GraphObject, type TensorObject } from '../onnx/onnx-proto.ts';
import type { Finding, ScanLimits } from './findings.ts';

// Operator domains that onnxruntime implements itself; any other domain needs a custom-op library, i.e.
// native code shipped beside the model.
const STANDARD_DOMAINS = new Set([
  '',
  'ai.onnx',
  'ai.onnx.ml',
  'ai.onnx.training',
  'ai.onnx.preview.training',
  'com.microsoft',
]);

// Shapes beyond 2^31 elements per dimension are not plausible for a model we would run.
const MAX_DIM = 2 ** 31;

function* tensorsOf(graph: GraphObject, depth = 0): Generator<TensorObject> {
  if (depth > 32) return;
  for (const t of graph.initializer ?? []) yield t;
  for (const node of graph.node ?? []) {
    for (const a of node.attribute ?? []) {
      if (a.t) yield a.t;
      for (const t of a.tensors ?? []) yield t;
      if (a.g) yield* tensorsOf(a.g, depth + 1);
      for (const g of a.graphs ?? []) yield* tensorsOf(g, depth + 1);
    }
  }
}

function* nodesOf(
  graph: GraphObject,
  depth = 0,
): Generator<{ opType?: string; domain?: string; name?: string }> {
  if (depth > 32) return;
  for (const node of graph.node ?? []) {
    yield node;
    for (const a of node.attribute ?? []) {
      if (a.g) yield* nodesOf(a.g, depth + 1);
      for (const g of a.graphs ?? []) yield* nodesOf(g, depth + 1);
    }
  }
}

async function checkExternal(
  tensor: TensorObject,
  modelDir: string | null,
  findings: Finding[],
): Promise<void> {
  const entries = new Map((tensor.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location');
  const where = `tensor ${tensor.name ?? '?'}`;
  if (location === undefined || location === '') {
    findings.push({
      id: 'onnx.external_data_missing_location',
      severity: 'medium',
      message: `${where} is stored externally without a location`,
      location: where,
    });
    return;
  }
  if (path.isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location) || location.startsWith('\\\\')) {
    findings.push({
      id: 'onnx.external_data_absolute_path',
      severity: 'high',
      message: `${where} reads external data from the absolute path ${location}`,
      location: where,
    });
    return;
  }
  const normalized = path.posix.normalize(location.replaceAll('\\', '/'));
  if (normalized === '..' || normalized.startsWith('../')) {
    findings.push({
      id: 'onnx.external_data_path_traversal',
      severity: 'critical',
      message: `${where} reads external data from ${location}, outside the model's folder`,
      location: where,
    });
    return;
  }
  if (!modelDir) return;
  const target = path.join(modelDir, normalized);
  try {
    const info = await lstat(target);
    if (info.isSymbolicLink()) {
      const real = await realpath(target).catch(() => null);
      const root = await realpath(modelDir);
      const inside = real !== null && (real === root || real.startsWith(root + path.sep));
      findings.push({
        id: 'onnx.external_data_symlink',
        severity: inside ? 'medium' : 'high',
        message: `${where}'s external data ${location} is a symbolic link${inside ? '' : ' pointing outside the model folder'}`,
        location: where,
      });
    }
    const size = (await stat(target).catch(() => null))?.size;
    const offset = Number(entries.get('offset') ?? 0);
    const length = entries.has('length') ? Number(entries.get('length')) : null;
    if (size !== undefined && (offset > size || (length !== null && offset + length > size))) {
      findings.push({
        id: 'onnx.external_data_out_of_range',
        severity: 'medium',
        message: `${where} claims bytes beyond the end of ${location}`,
        location: where,
      });
    }
  } catch {
    findings.push({
      id: 'onnx.external_data_not_found',
      severity: 'medium',
      message: `${where}'s external data ${location} does not exist`,
      location: where,
    });
  }
}

/** Static checks of an ONNX file's bytes; modelPath lets external-data locations be checked on disk. */
export async function scanOnnx(
  bytes: Uint8Array,
  modelPath: string | null,
  limits: ScanLimits,
): Promise<Finding[]> {
  let model;
  try {
    model = decodeModel(bytes);
  } catch (cause) {
    return [
      {
        id: 'onnx.unreadable',
        severity: 'high',
        message: `not a readable ONNX protobuf (truncated or malformed): ${(cause as Error).message}`,
      },
    ];
  }
  const findings: Finding[] = [];
  if (!model.graph) {
    return [
      {
        id: 'onnx.no_graph',
        severity: 'high',
        message: 'ONNX model has no graph (not a model, or truncated)',
      },
    ];
  }
  const domains = new Set<string>();
  for (const node of nodesOf(model.graph)) {
    const domain = node.domain ?? '';
    if (!STANDARD_DOMAINS.has(domain) && !domains.has(domain)) {
      domains.add(domain);
      findings.push({
        id: 'onnx.custom_operator_domain',
        severity: 'high',
        message: `operator ${node.opType ?? '?'} from custom domain ${domain} needs a native custom-op library to run`,
        location: `node ${node.name ?? '?'}`,
      });
    }
  }
  for (const opset of model.opsetImport ?? []) {
    if (!STANDARD_DOMAINS.has(opset.domain ?? '') && !domains.has(opset.domain ?? '')) {
      findings.push({
        id: 'onnx.custom_opset',
        severity: 'medium',
        message: `model imports the non-standard opset domain ${opset.domain}`,
      });
    }
  }
  const modelDir = modelPath ? path.dirname(modelPath) : null;
  for (const tensor of tensorsOf(model.graph)) {
    const where = `tensor ${tensor.name ?? '?'}`;
    const dims = (tensor.dims ?? []).map(Number);
    const elements = dims.reduce((a, b) => a * b, 1);
    const bytesClaimed = elements * (ONNX_ELEMENT_BYTES[tensor.dataType ?? 1] ?? 8);
    if (dims.some((d) => d < 0 || d > MAX_DIM) || bytesClaimed > limits.maxTensorBytes) {
      findings.push({
        id: 'onnx.absurd_dimension',
        severity: 'high',
        message: `${where} claims dims [${dims.join(', ')}] (${bytesClaimed.toExponential(3)} bytes), over the ${limits.maxTensorBytes}-byte limit`,
        location: where,
      });
      continue;
    }
    const external = tensor.dataLocation === 1 || (tensor.externalData ?? []).length > 0;
    if (external) await checkExternal(tensor, modelDir, findings);
    else if (
      tensor.rawData &&
      tensor.rawData.length > 0 &&
      tensor.rawData.length !== bytesClaimed &&
      tensor.dataType !== 8
    ) {
      findings.push({
        id: 'onnx.tensor_size_mismatch',
        severity: 'medium',
        message: `${where} holds ${tensor.rawData.length} bytes but its dims need ${bytesClaimed}`,
        location: where,
      });
    }
  }
  for (const io of [...(model.graph.input ?? []), ...(model.graph.output ?? [])]) {
    for (const d of io.type?.tensorType?.shape?.dim ?? []) {
      const v = d.dimValue === undefined ? 0 : Number(d.dimValue);
      if (v < 0 || v > MAX_DIM) {
        findings.push({
          id: 'onnx.absurd_dimension',
          severity: 'medium',
          message: `graph value ${io.name} declares dimension ${v}`,
          location: io.name ?? '?',
        });
      }
    }
  }
  return findings;
}
