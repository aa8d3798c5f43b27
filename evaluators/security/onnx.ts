import { lstat, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { EvaluatorError } from '../errors.ts';
import {
  decodeModel,
  ONNX_ELEMENT_BYTES,
  type AttributeObject,
  type FunctionObject,
  type GraphObject,
  type ModelObject,
  type NodeObject,
  type SparseTensorObject,
  type TensorObject,
} from '../onnx/onnx-proto.ts';
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

/** Where nodes and tensors live: a graph, or a model-local function (its attribute defaults hold tensors too). */
type Scope = Pick<GraphObject, 'node' | 'initializer' | 'sparseInitializer'> &
  Pick<FunctionObject, 'attributeProto'>;

interface ModelContents {
  nodes: NodeObject[];
  tensors: TensorObject[];
  sparseTensors: SparseTensorObject[];
}

/**
 * Every node and tensor of the model: the main graph, the subgraphs in attributes (If, Loop and Scan bodies),
 * model-local functions and training graphs. A work list rather than recursion, so no depth cutoff hides
 * anything; protobufjs already bounded the nesting when it decoded the bytes.
 */
function contentsOf(model: ModelObject): ModelContents {
  const contents: ModelContents = { nodes: [], tensors: [], sparseTensors: [] };
  const scopes: Scope[] = [];
  if (model.graph) scopes.push(model.graph);
  for (const training of model.trainingInfo ?? []) {
    if (training.initialization) scopes.push(training.initialization);
    if (training.algorithm) scopes.push(training.algorithm);
  }
  for (const fn of model.functions ?? []) scopes.push(fn);
  for (let k = 0; k < scopes.length; k++) {
    const scope = scopes[k]!;
    for (const t of scope.initializer ?? []) contents.tensors.push(t);
    for (const t of scope.sparseInitializer ?? []) contents.sparseTensors.push(t);
    const attributes: AttributeObject[] = [...(scope.attributeProto ?? [])];
    for (const node of scope.node ?? []) {
      contents.nodes.push(node);
      for (const a of node.attribute ?? []) attributes.push(a);
    }
    for (const a of attributes) {
      if (a.t) contents.tensors.push(a.t);
      for (const t of a.tensors ?? []) contents.tensors.push(t);
      if (a.sparseTensor) contents.sparseTensors.push(a.sparseTensor);
      for (const t of a.sparseTensors ?? []) contents.sparseTensors.push(t);
      if (a.g) scopes.push(a.g);
      for (const g of a.graphs ?? []) scopes.push(g);
    }
  }
  return contents;
}

/** Names of the tensors, anywhere in the model, whose bytes are stored outside the model file. */
export function externalTensorNames(model: ModelObject): string[] {
  const { tensors, sparseTensors } = contentsOf(model);
  const all = [
    ...tensors,
    ...sparseTensors.flatMap((s) => [s.values, s.indices].filter((t) => t !== undefined)),
  ];
  return all
    .filter((t) => t.dataLocation === 1 || (t.externalData ?? []).length > 0)
    .map((t) => t.name ?? '?');
}

/** Bytes a dense tensor of these dims would take, and whether that is beyond any model we would run. */
function claimedSize(
  dims: number[],
  dataType: number | undefined,
  limits: ScanLimits,
): { bytes: number; absurd: boolean } {
  const bytes = dims.reduce((a, b) => a * b, 1) * (ONNX_ELEMENT_BYTES[dataType ?? 1] ?? 8);
  return { bytes, absurd: dims.some((d) => d < 0 || d > MAX_DIM) || bytes > limits.maxTensorBytes };
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
    await lstat(target);
    // A symbolic link anywhere on the way leads elsewhere: the file itself, or a folder above it
    // (`weights/w.bin` with `weights` linked to /etc), which the lexical check above cannot see.
    const root = await realpath(modelDir);
    const real = await realpath(target).catch(() => null);
    if (real !== path.join(root, normalized)) {
      const inside = real !== null && (real === root || real.startsWith(root + path.sep));
      findings.push({
        id: 'onnx.external_data_symlink',
        severity: inside ? 'medium' : 'high',
        message: `${where}'s external data ${location} goes through a symbolic link${inside ? '' : ' pointing outside the model folder'}`,
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

/** A tensor's claimed size, and where its bytes come from: inline, or an external file that must stay in the folder. */
async function checkTensor(
  tensor: TensorObject,
  modelDir: string | null,
  limits: ScanLimits,
  findings: Finding[],
): Promise<void> {
  const where = `tensor ${tensor.name ?? '?'}`;
  const dims = (tensor.dims ?? []).map(Number);
  const claimed = claimedSize(dims, tensor.dataType, limits);
  if (claimed.absurd) {
    findings.push({
      id: 'onnx.absurd_dimension',
      severity: 'high',
      message: `${where} claims dims [${dims.join(', ')}] (${claimed.bytes.toExponential(3)} bytes), over the ${limits.maxTensorBytes}-byte limit`,
      location: where,
    });
    return;
  }
  const external = tensor.dataLocation === 1 || (tensor.externalData ?? []).length > 0;
  if (external) await checkExternal(tensor, modelDir, findings);
  else if (
    tensor.rawData &&
    tensor.rawData.length > 0 &&
    tensor.rawData.length !== claimed.bytes &&
    tensor.dataType !== 8
  ) {
    findings.push({
      id: 'onnx.tensor_size_mismatch',
      severity: 'medium',
      message: `${where} holds ${tensor.rawData.length} bytes but its dims need ${claimed.bytes}`,
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
    if (cause instanceof EvaluatorError) {
      return [
        {
          id: 'onnx.too_many_values',
          severity: 'high',
          message: `not scanned: ${cause.message}`,
        },
      ];
    }
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
  const contents = contentsOf(model);
  const domains = new Set<string>();
  for (const node of contents.nodes) {
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
  for (const tensor of contents.tensors) await checkTensor(tensor, modelDir, limits, findings);
  for (const sparse of contents.sparseTensors) {
    // onnxruntime expands sparse initializers to dense tensors when it loads the model, so the dense shape is
    // allocated in full.
    const where = `sparse tensor ${sparse.values?.name ?? '?'}`;
    const dims = (sparse.dims ?? []).map(Number);
    const dense = claimedSize(dims, sparse.values?.dataType, limits);
    if (dense.absurd) {
      findings.push({
        id: 'onnx.absurd_dimension',
        severity: 'high',
        message: `${where} describes a dense shape [${dims.join(', ')}] (${dense.bytes.toExponential(3)} bytes), over the ${limits.maxTensorBytes}-byte limit`,
        location: where,
      });
    }
    if (sparse.values) await checkTensor(sparse.values, modelDir, limits, findings);
    if (sparse.indices) await checkTensor(sparse.indices, modelDir, limits, findings);
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
