import type { Finding, Severity } from './findings.ts';

// Reads a pickle's opcode stream without unpickling it (pickletools' opcode table, protocols 0–5). Loading a
// pickle can import and call any callable; what it would import is visible in GLOBAL / INST arguments and in the
// two strings STACK_GLOBAL takes from the stack, so those are classified. To know what STACK_GLOBAL takes, the
// scan runs the stream symbolically, as pickle.py's _Unpickler would: a stack with its MARK fences and a memo,
// whose slots hold either a str constant the stream spelled out or "anything else". Every opcode pops and pushes
// per its stack effect (pickletools' stack_before / stack_after); nothing is ever imported or called. See
// https://github.com/python/cpython/blob/main/Lib/pickletools.py and Lib/pickle.py.

type Arg = 'none' | 'line' | 'twolines' | 1 | 2 | 4 | 8 | 'len1' | 'len4' | 'len8';
/**
 * Values an opcode pops: a count; 'mark', everything above the topmost MARK and the MARK; 'mark+1', that and then
 * the list, dict or set below it, which the opcode extends (and the table's push puts back).
 */
type Pops = number | 'mark' | 'mark+1';
/** How the argument of an opcode that pushes a str becomes that str (pickle.py's load_* for the opcode). */
type Text = 'utf8' | 'latin1' | 'escaped' | 'raw-unicode-escape';

interface Opcode {
  name: string;
  arg: Arg;
  pops: Pops;
  pushes: number;
  text?: Text;
}

const OPCODES: Record<number, Opcode> = {};
const def = (
  code: string | number,
  name: string,
  arg: Arg,
  pops: Pops,
  pushes: number,
  text?: Text,
): void => {
  OPCODES[typeof code === 'string' ? code.charCodeAt(0) : code] = { name, arg, pops, pushes, text };
};
// MARK, POP, DUP, the memo opcodes and STACK_GLOBAL are run by hand in scanPickle; their entries document them.
def('(', 'MARK', 'none', 0, 0);
def('.', 'STOP', 'none', 1, 0);
def('0', 'POP', 'none', 1, 0);
def('1', 'POP_MARK', 'none', 'mark', 0);
def('2', 'DUP', 'none', 1, 2);
def('F', 'FLOAT', 'line', 0, 1);
def('I', 'INT', 'line', 0, 1);
def('J', 'BININT', 4, 0, 1);
def('K', 'BININT1', 1, 0, 1);
def('L', 'LONG', 'line', 0, 1);
def('M', 'BININT2', 2, 0, 1);
def('N', 'NONE', 'none', 0, 1);
def('P', 'PERSID', 'line', 0, 1);
def('Q', 'BINPERSID', 'none', 1, 1);
def('R', 'REDUCE', 'none', 2, 1);
def('S', 'STRING', 'line', 0, 1, 'escaped');
def('T', 'BINSTRING', 'len4', 0, 1, 'latin1');
def('U', 'SHORT_BINSTRING', 'len1', 0, 1, 'latin1');
def('V', 'UNICODE', 'line', 0, 1, 'raw-unicode-escape');
def('X', 'BINUNICODE', 'len4', 0, 1, 'utf8');
def('a', 'APPEND', 'none', 2, 1);
def('b', 'BUILD', 'none', 2, 1);
def('c', 'GLOBAL', 'twolines', 0, 1);
def('d', 'DICT', 'none', 'mark', 1);
def('}', 'EMPTY_DICT', 'none', 0, 1);
def('e', 'APPENDS', 'none', 'mark+1', 1);
def('g', 'GET', 'line', 0, 1);
def('h', 'BINGET', 1, 0, 1);
def('i', 'INST', 'twolines', 'mark', 1);
def('j', 'LONG_BINGET', 4, 0, 1);
def('l', 'LIST', 'none', 'mark', 1);
def(']', 'EMPTY_LIST', 'none', 0, 1);
def('o', 'OBJ', 'none', 'mark', 1);
def('p', 'PUT', 'line', 0, 0);
def('q', 'BINPUT', 1, 0, 0);
def('r', 'LONG_BINPUT', 4, 0, 0);
def('s', 'SETITEM', 'none', 3, 1);
def('t', 'TUPLE', 'none', 'mark', 1);
def(')', 'EMPTY_TUPLE', 'none', 0, 1);
def('u', 'SETITEMS', 'none', 'mark+1', 1);
def('G', 'BINFLOAT', 8, 0, 1);
def(0x80, 'PROTO', 1, 0, 0);
def(0x81, 'NEWOBJ', 'none', 2, 1);
def(0x82, 'EXT1', 1, 0, 1);
def(0x83, 'EXT2', 2, 0, 1);
def(0x84, 'EXT4', 4, 0, 1);
def(0x85, 'TUPLE1', 'none', 1, 1);
def(0x86, 'TUPLE2', 'none', 2, 1);
def(0x87, 'TUPLE3', 'none', 3, 1);
def(0x88, 'NEWTRUE', 'none', 0, 1);
def(0x89, 'NEWFALSE', 'none', 0, 1);
def(0x8a, 'LONG1', 'len1', 0, 1);
def(0x8b, 'LONG4', 'len4', 0, 1);
def('B', 'BINBYTES', 'len4', 0, 1);
def('C', 'SHORT_BINBYTES', 'len1', 0, 1);
def(0x8c, 'SHORT_BINUNICODE', 'len1', 0, 1, 'utf8');
def(0x8d, 'BINUNICODE8', 'len8', 0, 1, 'utf8');
def(0x8e, 'BINBYTES8', 'len8', 0, 1);
def(0x8f, 'EMPTY_SET', 'none', 0, 1);
def(0x90, 'ADDITEMS', 'none', 'mark+1', 1);
def(0x91, 'FROZENSET', 'none', 'mark', 1);
def(0x92, 'NEWOBJ_EX', 'none', 3, 1);
def(0x93, 'STACK_GLOBAL', 'none', 2, 1);
def(0x94, 'MEMOIZE', 'none', 0, 0);
def(0x95, 'FRAME', 8, 0, 0);
def(0x96, 'BYTEARRAY8', 'len8', 0, 1);
def(0x97, 'NEXT_BUFFER', 'none', 0, 1);
def(0x98, 'READONLY_BUFFER', 'none', 1, 1);

// Modules whose every callable can run commands or code, reach the network, or write files (ModelScan's and
// picklescan's unsafe lists, and the standard library's code runners). Any import that is not known data is at
// least 'high' anyway; these are named so that a finding says what the module does.
const DANGEROUS_MODULES: Record<string, Severity> = {
  os: 'critical',
  posix: 'critical',
  nt: 'critical',
  subprocess: 'critical',
  _posixsubprocess: 'critical',
  _winapi: 'critical',
  multiprocessing: 'critical',
  sys: 'critical',
  socket: 'critical',
  _socket: 'critical',
  shutil: 'critical',
  runpy: 'critical',
  pty: 'critical',
  commands: 'critical',
  ctypes: 'critical',
  _ctypes: 'critical',
  pip: 'critical',
  // Each runs a statement, a script or a command line it is handed: timeit.timeit(stmt), profile.run(cmd),
  // trace.Trace().run(cmd), doctest.debug_script(src), pydoc.pipepager(text, cmd), code.InteractiveInterpreter.
  timeit: 'critical',
  profile: 'critical',
  cProfile: 'critical',
  trace: 'critical',
  doctest: 'critical',
  pydoc: 'critical',
  code: 'critical',
  // Compile source, or import and resolve any dotted name (pkgutil.resolve_name('os:system')).
  codeop: 'high',
  pkgutil: 'high',
  importlib: 'high',
  imp: 'high',
  zipimport: 'high',
  marshal: 'high',
  // Build functions from bytecode (FunctionType(CodeType(…), {})), and reach any attribute or method of what they
  // are handed: attrgetter('modules')(collections._sys) is sys.modules.
  types: 'high',
  operator: 'high',
  _operator: 'high',
  // Threads and files: open, write, remove.
  _thread: 'high',
  threading: 'high',
  io: 'high',
  _io: 'high',
  pathlib: 'high',
  tempfile: 'high',
  // Unpicklers of their own: what they load is a pickle this scan never sees.
  pickle: 'high',
  _pickle: 'high',
  dill: 'high',
  cloudpickle: 'high',
  shelve: 'high',
  // The network.
  webbrowser: 'high',
  requests: 'high',
  urllib: 'high',
  http: 'high',
  ftplib: 'high',
  smtplib: 'high',
  telnetlib: 'high',
  xmlrpc: 'high',
  asyncio: 'high',
  ssl: 'high',
  // Debuggers run what they are told.
  bdb: 'high',
  pdb: 'high',
};

/**
 * Callables inside the packages whose data isData allows that run code, fetch it, write files, or load a further
 * pickle (or a file that holds one) that this scan never sees: picklescan's and ModelScan's unsafe globals. Each
 * entry is a dotted prefix of `module.name`, judged before isData, so that no pattern there ever vouches for one.
 */
const DANGEROUS_IN_SAFE_PACKAGES: [prefix: string, severity: Severity][] = [
  // runstring(astr, dict) is exec(astr, dict); numpy.testing re-exports it.
  ['numpy.testing', 'critical'],
  // _ufunc_reconstruct(module, name) is getattr(__import__(module), name): ('os', 'system') is os.system.
  ['numpy.core._ufunc_reconstruct', 'critical'],
  ['numpy._core._ufunc_reconstruct', 'critical'],
  // Downloads a repository and runs its hubconf.py.
  ['torch.hub', 'critical'],
  // Run Python source they are handed: a pickled fx GraphModule is rebuilt by reduce_graph_module, which
  // exec()s the code string the pickle carries; dynamo, inductor and export generate code and load it the same way.
  ['torch.fx', 'critical'],
  ['torch._dynamo', 'critical'],
  ['torch._inductor', 'critical'],
  ['torch.export', 'critical'],
  ['torch._export', 'critical'],
  ['torch.compiler', 'critical'],
  // TorchScript: compiles source text and loads archives whose code runs at load (__setstate__); torch._C holds
  // its native half (_jit_script_compile, _import_ir_module) among names too many to list one by one.
  ['torch.jit', 'critical'],
  ['torch._C', 'critical'],
  // load_library dlopen()s a shared object; import_module imports any module.
  ['torch.ops', 'critical'],
  ['torch._ops', 'critical'],
  ['torch.classes', 'critical'],
  ['torch._classes', 'critical'],
  // Resolves any dotted name, so _import_dotted_name('os.system') is os.system, as builtins.getattr would be.
  ['torch._utils._import_dotted_name', 'critical'],
  // Test helpers that run shell commands (common_utils.shell, sklearn's check_output), as numpy.testing's do.
  ['torch.testing', 'critical'],
  ['sklearn.utils._testing', 'critical'],
  // Starts worker processes from a command line (SubprocessHandler, the launchers).
  ['torch.distributed.elastic', 'critical'],
  ['torch.distributed.run', 'critical'],
  ['torch.distributed.launch', 'critical'],
  // Compile or load native code.
  ['torch.utils.cpp_extension', 'critical'],
  ['numpy.f2py', 'critical'],
  ['numpy.distutils', 'critical'],
  ['numpy.ctypeslib', 'critical'],
  // Unpicklers: load, _load, _legacy_load, and torch.package's importer.
  ['torch.load', 'high'],
  ['torch.serialization', 'high'],
  ['torch.storage._load_from_bytes', 'high'],
  ['torch.package', 'high'],
  ['numpy.load', 'high'],
  ['numpy.lib.npyio.load', 'high'],
  ['numpy.lib._npyio_impl.load', 'high'],
  ['numpy.lib.format.read_array', 'high'],
  // Write any file the pickle names: savetxt(path, data).
  ['numpy.save', 'high'],
  ['numpy.savez', 'high'],
  ['numpy.savez_compressed', 'high'],
  ['numpy.savetxt', 'high'],
  ['numpy.memmap', 'high'],
  ['numpy.lib.npyio', 'high'],
  ['numpy.lib._npyio_impl', 'high'],
  ['pandas.read_pickle', 'high'],
  ['pandas.io.pickle', 'high'],
  ['joblib.load', 'high'],
  ['joblib.numpy_pickle.load', 'high'],
  // joblib's NDArrayWrapper and ZNDArrayWrapper (files of joblib before 0.10) read their array from another
  // file named in the pickle, with np.load(allow_pickle=True).
  ['joblib.numpy_pickle_compat', 'high'],
  // The copies of cloudpickle and loky that joblib vendors.
  ['joblib.externals', 'high'],
];

const DANGEROUS_BUILTINS = new Set([
  'eval',
  'exec',
  'execfile',
  'compile',
  'open',
  'getattr',
  'setattr',
  'delattr',
  '__import__',
  'breakpoint',
  'input',
  'apply',
  'globals',
  'locals',
  'vars',
]);

/**
 * What model pickles are made of, as exact `module.name` pairs: constructors that build data and nothing else.
 * Of PyTorch, only what torch.save writes for tensors: the reconstructors torch's weights-only unpickler allows
 * (torch/_weights_only_unpickler.py) and the storage classes; torch.save writes files, torch.fx runs code.
 */
const DATA_GLOBALS = new Set([
  'collections.OrderedDict',
  'collections.defaultdict',
  'collections.Counter',
  'collections.deque',
  'collections.ChainMap',
  'collections.UserDict',
  'collections.UserList',
  'collections.UserString',
  'copyreg._reconstructor',
  '_codecs.encode',
  'builtins.set',
  'builtins.frozenset',
  'builtins.bytearray',
  'builtins.dict',
  'builtins.list',
  'builtins.slice',
  'builtins.complex',
  'builtins.range',
  'builtins.object',
  '__builtin__.set',
  '__builtin__.object',
  'datetime.datetime',
  'datetime.date',
  'datetime.time',
  'datetime.timedelta',
  'datetime.timezone',
  'numpy.ndarray',
  'numpy.dtype',
  'numpy.matrix',
  'numpy.core.multiarray._reconstruct',
  'numpy._core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar',
  'numpy._core.multiarray.scalar',
  'numpy.core.numeric._frombuffer',
  'numpy._core.numeric._frombuffer',
  'numpy.ma.core._mareconstruct',
  'numpy.ma.core.MaskedArray',
  'numpy.random._pickle.__randomstate_ctor',
  'numpy.random._pickle.__generator_ctor',
  'numpy.random._pickle.__bit_generator_ctor',
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'pandas.core.indexes.base._new_Index',
  'pandas.core.internals.blocks.new_block',
  'pandas._libs.internals._unpickle_block',
  'pandas._libs.tslibs.timestamps._unpickle_timestamp',
  'pandas._libs.tslibs.timedeltas._timedelta_unpickle',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._utils._rebuild_qtensor',
  'torch._utils._rebuild_sparse_tensor',
  'torch._utils._rebuild_nested_tensor',
  'torch._utils._rebuild_meta_tensor_no_storage',
  'torch._utils._rebuild_wrapper_subclass',
  'torch._utils._rebuild_device_tensor_from_numpy',
  'torch._utils._rebuild_device_tensor_from_cpu_tensor',
  'torch._tensor._rebuild_from_type',
  'torch._tensor._rebuild_from_type_v2',
  'torch.storage.TypedStorage',
  'torch.storage.UntypedStorage',
  'torch.nn.parameter.Parameter',
  'torch.nn.parameter.Buffer',
  'torch.nn.parameter.UninitializedParameter',
  'torch.nn.parameter.UninitializedBuffer',
]);

/**
 * Names in module `torch` that a checkpoint's tensors are made of: storage and tensor classes (FloatStorage,
 * LongTensor), Size, device, dtypes (float32, bfloat16, quint8, float8_e4m3fn), layouts, memory formats and
 * quantization schemes, each pickled by name.
 */
const TORCH_DATA_TYPE =
  /^(?:\w*Storage|\w*Tensor|Size|device|bool|b?float\d+\w*|complex\d+|q?u?int\d+\w*|bits\w+|strided|sparse_\w+|jagged|contiguous_format|preserve_format|channels_last(?:_3d)?|per_(?:tensor|channel)_\w+)$/;

/** NumPy's scalar types and dtype classes (an estimator's `dtype=np.float64` is pickled by name), and its ufuncs of
 * arithmetic (FunctionTransformer(func=np.log1p)): types and pure functions of numbers. */
const NUMPY_DATA =
  /^numpy\.(?:dtypes\.\w+DType|bool_?|u?int(?:8|16|32|64|c|p|_)?|float(?:16|32|64|128|_)|complex(?:64|128|256|_)|u?(?:byte|short|longlong|long)|half|single|double|longdouble|c(?:single|double|longdouble)|object_|str_|bytes_|void|datetime64|timedelta64|(?:log|exp)(?:1p|m1|2|10)?|expm1|sqrt|cbrt|square|abs(?:olute)?|fabs|sign|negative|reciprocal|(?:arc)?(?:sin|cos|tan)h?|arctan2|floor|ceil|rint|trunc|minimum|maximum|fmin|fmax|add|subtract|multiply|(?:true_|floor_)?divide|power|float_power|mod|remainder|hypot|logaddexp2?)$/;

/**
 * The modules of ML packages whose classes are data: a model's estimators, losses, trees, frames and modules,
 * pickled by the module that defines them (so never a package's top level, where pandas re-exports its file
 * writers). A class there is built and given its state, running no code it is handed. Not the parts that read or
 * write files, fetch data sets, start workers or hold test helpers.
 */
const CLASS_MODULES =
  /^(?:(?:sklearn|scipy)(?:\.\w+)+|pandas\.(?:core|_libs)(?:\.\w+)*|xgboost\.(?:sklearn|core)|lightgbm\.(?:sklearn|basic)|torch\.nn\.modules\.\w+)$/;
const NOT_DATA_MODULES =
  /(?:^|\.)(?:_?testing|_testutils|tests?|_mocking|externals|datasets|io|_lib|computation|parallel|_joblib|_build_utils|__check_build)(?:\.|$)/;
/** Classes (CamelCase, a leading underscore or not), and Cython's __pyx_unpickle_<Class> that builds one. */
const CLASS_NAME = /^(?:_*[A-Z]\w*|__pyx_unpickle_\w+)$/;
/**
 * sklearn's functions that estimators hold as parameters (SelectKBest(score_func=f_classif), make_scorer(f1_score),
 * a kernel), by exact name in the module that defines each, which pickle writes, and in the package that exports
 * it. Never a pattern over a module: a module's namespace holds what it imports too, and
 * sklearn.feature_selection._base.attrgetter is operator.attrgetter.
 */
const SKLEARN_FUNCTIONS = new Set(
  Object.entries({
    'metrics._classification': [
      'accuracy_score',
      'balanced_accuracy_score',
      'brier_score_loss',
      'class_likelihood_ratios',
      'classification_report',
      'cohen_kappa_score',
      'confusion_matrix',
      'd2_log_loss_score',
      'f1_score',
      'fbeta_score',
      'hamming_loss',
      'hinge_loss',
      'jaccard_score',
      'log_loss',
      'matthews_corrcoef',
      'multilabel_confusion_matrix',
      'precision_recall_fscore_support',
      'precision_score',
      'recall_score',
      'zero_one_loss',
    ],
    'metrics._ranking': [
      'auc',
      'average_precision_score',
      'coverage_error',
      'dcg_score',
      'det_curve',
      'label_ranking_average_precision_score',
      'label_ranking_loss',
      'ndcg_score',
      'precision_recall_curve',
      'roc_auc_score',
      'roc_curve',
      'top_k_accuracy_score',
    ],
    'metrics._regression': [
      'd2_absolute_error_score',
      'd2_pinball_score',
      'd2_tweedie_score',
      'explained_variance_score',
      'max_error',
      'mean_absolute_error',
      'mean_absolute_percentage_error',
      'mean_gamma_deviance',
      'mean_pinball_loss',
      'mean_poisson_deviance',
      'mean_squared_error',
      'mean_squared_log_error',
      'mean_tweedie_deviance',
      'median_absolute_error',
      'r2_score',
      'root_mean_squared_error',
      'root_mean_squared_log_error',
    ],
    'metrics.cluster._supervised': [
      'adjusted_mutual_info_score',
      'adjusted_rand_score',
      'completeness_score',
      'contingency_matrix',
      'fowlkes_mallows_score',
      'homogeneity_completeness_v_measure',
      'homogeneity_score',
      'mutual_info_score',
      'normalized_mutual_info_score',
      'pair_confusion_matrix',
      'rand_score',
      'v_measure_score',
    ],
    'metrics.cluster._unsupervised': [
      'calinski_harabasz_score',
      'davies_bouldin_score',
      'silhouette_samples',
      'silhouette_score',
    ],
    'metrics.cluster._bicluster': ['consensus_score'],
    // The kernels and distances of two arrays; not pairwise_distances and the like, which call a metric they are
    // handed.
    'metrics.pairwise': [
      'additive_chi2_kernel',
      'chi2_kernel',
      'cosine_distances',
      'cosine_similarity',
      'euclidean_distances',
      'haversine_distances',
      'laplacian_kernel',
      'linear_kernel',
      'manhattan_distances',
      'nan_euclidean_distances',
      'paired_cosine_distances',
      'paired_euclidean_distances',
      'paired_manhattan_distances',
      'polynomial_kernel',
      'rbf_kernel',
      'sigmoid_kernel',
    ],
    'feature_selection._univariate_selection': [
      'chi2',
      'f_classif',
      'f_oneway',
      'f_regression',
      'r_regression',
    ],
    'feature_selection._mutual_info': ['mutual_info_classif', 'mutual_info_regression'],
  }).flatMap(([module, names]) => {
    // Exported by sklearn.metrics (clustering metrics by sklearn.metrics.cluster too) or sklearn.feature_selection.
    const packages = [
      module,
      module.split('.')[0]!,
      ...(module.startsWith('metrics.cluster') ? ['metrics.cluster'] : []),
    ];
    return packages.flatMap((p) => names.map((name) => `sklearn.${p}.${name}`));
  }),
);
/** The newObj that sklearn's neighbour trees and distance metrics reduce to (obj.__new__(obj)). */
const SKLEARN_NEW_OBJ = /^sklearn\.(?:neighbors\.\w+|metrics\._dist_metrics)\.newObj$/;
/** scipy.sparse's matrices and arrays, and the scipy.stats distributions a search over parameters holds. */
const SCIPY_DATA =
  /^scipy\.(?:sparse(?:\.\w+)?\.(?:csr|csc|coo|bsr|dia|dok|lil)_(?:matrix|array)|stats\.\w+\.(?:\w+_gen|rv_\w+))$/;

/** Whether `module.name` is known to build data. */
function isData(module: string, name: string): boolean {
  const full = `${module}.${name}`;
  if (
    DATA_GLOBALS.has(full) ||
    NUMPY_DATA.test(full) ||
    SKLEARN_FUNCTIONS.has(full) ||
    SKLEARN_NEW_OBJ.test(full) ||
    SCIPY_DATA.test(full)
  )
    return true;
  if (module === 'torch') return TORCH_DATA_TYPE.test(name);
  return CLASS_MODULES.test(module) && !NOT_DATA_MODULES.test(module) && CLASS_NAME.test(name);
}

/**
 * Python 2's names, as the unpickler maps them for a stream of protocol 0 to 2 (pickle.py's find_class with
 * fix_imports, from CPython's Lib/_compat_pickle.py): cPickle.loads is pickle.loads, commands.getoutput
 * subprocess.getoutput.
 */
const PY2_MODULES: Record<string, string> = {
  __builtin__: 'builtins',
  copy_reg: 'copyreg',
  Queue: 'queue',
  SocketServer: 'socketserver',
  ConfigParser: 'configparser',
  repr: 'reprlib',
  tkFileDialog: 'tkinter.filedialog',
  tkSimpleDialog: 'tkinter.simpledialog',
  tkColorChooser: 'tkinter.colorchooser',
  tkCommonDialog: 'tkinter.commondialog',
  Dialog: 'tkinter.dialog',
  Tkdnd: 'tkinter.dnd',
  tkFont: 'tkinter.font',
  tkMessageBox: 'tkinter.messagebox',
  ScrolledText: 'tkinter.scrolledtext',
  Tkconstants: 'tkinter.constants',
  Tix: 'tkinter.tix',
  ttk: 'tkinter.ttk',
  Tkinter: 'tkinter',
  markupbase: '_markupbase',
  _winreg: 'winreg',
  thread: '_thread',
  dummy_thread: '_dummy_thread',
  dbhash: 'dbm.bsd',
  dumbdbm: 'dbm.dumb',
  dbm: 'dbm.ndbm',
  gdbm: 'dbm.gnu',
  xmlrpclib: 'xmlrpc.client',
  SimpleXMLRPCServer: 'xmlrpc.server',
  httplib: 'http.client',
  htmlentitydefs: 'html.entities',
  HTMLParser: 'html.parser',
  Cookie: 'http.cookies',
  cookielib: 'http.cookiejar',
  BaseHTTPServer: 'http.server',
  'test.test_support': 'test.support',
  commands: 'subprocess',
  urlparse: 'urllib.parse',
  robotparser: 'urllib.robotparser',
  urllib2: 'urllib.request',
  anydbm: 'dbm',
  _abcoll: 'collections.abc',
  cPickle: 'pickle',
  _elementtree: 'xml.etree.ElementTree',
  FileDialog: 'tkinter.filedialog',
  SimpleDialog: 'tkinter.simpledialog',
  DocXMLRPCServer: 'xmlrpc.server',
  SimpleHTTPServer: 'http.server',
  CGIHTTPServer: 'http.server',
  UserDict: 'collections',
  UserList: 'collections',
  UserString: 'collections',
  whichdb: 'dbm',
  StringIO: 'io',
  cStringIO: 'io',
};
const PY2_NAMES: Record<string, string> = {
  '__builtin__.xrange': 'builtins.range',
  '__builtin__.reduce': 'functools.reduce',
  '__builtin__.intern': 'sys.intern',
  '__builtin__.unichr': 'builtins.chr',
  '__builtin__.unicode': 'builtins.str',
  '__builtin__.long': 'builtins.int',
  'itertools.izip': 'builtins.zip',
  'itertools.imap': 'builtins.map',
  'itertools.ifilter': 'builtins.filter',
  'itertools.ifilterfalse': 'itertools.filterfalse',
  'itertools.izip_longest': 'itertools.zip_longest',
  'UserDict.IterableUserDict': 'collections.UserDict',
  'UserList.UserList': 'collections.UserList',
  'UserString.UserString': 'collections.UserString',
  'whichdb.whichdb': 'dbm.whichdb',
  '_socket.fromfd': 'socket.fromfd',
  '_multiprocessing.Connection': 'multiprocessing.connection.Connection',
  'multiprocessing.process.Process': 'multiprocessing.context.Process',
  'multiprocessing.forking.Popen': 'multiprocessing.popen_fork.Popen',
  'urllib.ContentTooShortError': 'urllib.error.ContentTooShortError',
  'urllib.getproxies': 'urllib.request.getproxies',
  'urllib.pathname2url': 'urllib.request.pathname2url',
  'urllib.quote_plus': 'urllib.parse.quote_plus',
  'urllib.quote': 'urllib.parse.quote',
  'urllib.unquote_plus': 'urllib.parse.unquote_plus',
  'urllib.unquote': 'urllib.parse.unquote',
  'urllib.url2pathname': 'urllib.request.url2pathname',
  'urllib.urlcleanup': 'urllib.request.urlcleanup',
  'urllib.urlencode': 'urllib.parse.urlencode',
  'urllib.urlopen': 'urllib.request.urlopen',
  'urllib.urlretrieve': 'urllib.request.urlretrieve',
  'urllib2.HTTPError': 'urllib.error.HTTPError',
  'urllib2.URLError': 'urllib.error.URLError',
  '__builtin__.basestring': 'builtins.str',
  'exceptions.StandardError': 'builtins.Exception',
  'UserDict.UserDict': 'collections.UserDict',
  'socket._socketobject': 'socket.SocketType',
  'exceptions.ArithmeticError': 'builtins.ArithmeticError',
  'exceptions.AssertionError': 'builtins.AssertionError',
  'exceptions.AttributeError': 'builtins.AttributeError',
  'exceptions.BaseException': 'builtins.BaseException',
  'exceptions.BufferError': 'builtins.BufferError',
  'exceptions.BytesWarning': 'builtins.BytesWarning',
  'exceptions.DeprecationWarning': 'builtins.DeprecationWarning',
  'exceptions.EOFError': 'builtins.EOFError',
  'exceptions.EnvironmentError': 'builtins.EnvironmentError',
  'exceptions.Exception': 'builtins.Exception',
  'exceptions.FloatingPointError': 'builtins.FloatingPointError',
  'exceptions.FutureWarning': 'builtins.FutureWarning',
  'exceptions.GeneratorExit': 'builtins.GeneratorExit',
  'exceptions.IOError': 'builtins.IOError',
  'exceptions.ImportError': 'builtins.ImportError',
  'exceptions.ImportWarning': 'builtins.ImportWarning',
  'exceptions.IndentationError': 'builtins.IndentationError',
  'exceptions.IndexError': 'builtins.IndexError',
  'exceptions.KeyError': 'builtins.KeyError',
  'exceptions.KeyboardInterrupt': 'builtins.KeyboardInterrupt',
  'exceptions.LookupError': 'builtins.LookupError',
  'exceptions.MemoryError': 'builtins.MemoryError',
  'exceptions.NameError': 'builtins.NameError',
  'exceptions.NotImplementedError': 'builtins.NotImplementedError',
  'exceptions.OSError': 'builtins.OSError',
  'exceptions.OverflowError': 'builtins.OverflowError',
  'exceptions.PendingDeprecationWarning': 'builtins.PendingDeprecationWarning',
  'exceptions.ReferenceError': 'builtins.ReferenceError',
  'exceptions.RuntimeError': 'builtins.RuntimeError',
  'exceptions.RuntimeWarning': 'builtins.RuntimeWarning',
  'exceptions.StopIteration': 'builtins.StopIteration',
  'exceptions.SyntaxError': 'builtins.SyntaxError',
  'exceptions.SyntaxWarning': 'builtins.SyntaxWarning',
  'exceptions.SystemError': 'builtins.SystemError',
  'exceptions.SystemExit': 'builtins.SystemExit',
  'exceptions.TabError': 'builtins.TabError',
  'exceptions.TypeError': 'builtins.TypeError',
  'exceptions.UnboundLocalError': 'builtins.UnboundLocalError',
  'exceptions.UnicodeDecodeError': 'builtins.UnicodeDecodeError',
  'exceptions.UnicodeEncodeError': 'builtins.UnicodeEncodeError',
  'exceptions.UnicodeError': 'builtins.UnicodeError',
  'exceptions.UnicodeTranslateError': 'builtins.UnicodeTranslateError',
  'exceptions.UnicodeWarning': 'builtins.UnicodeWarning',
  'exceptions.UserWarning': 'builtins.UserWarning',
  'exceptions.ValueError': 'builtins.ValueError',
  'exceptions.Warning': 'builtins.Warning',
  'exceptions.ZeroDivisionError': 'builtins.ZeroDivisionError',
  'multiprocessing.AuthenticationError': 'multiprocessing.context.AuthenticationError',
  'multiprocessing.BufferTooShort': 'multiprocessing.context.BufferTooShort',
  'multiprocessing.ProcessError': 'multiprocessing.context.ProcessError',
  'multiprocessing.TimeoutError': 'multiprocessing.context.TimeoutError',
};

/** A table's own entry: a module named `constructor` is no key of the table's prototype. */
const own = <T>(table: Record<string, T>, key: string): T | undefined =>
  Object.hasOwn(table, key) ? table[key] : undefined;

/** The global Python 3 imports for Python 2's (module, name), as find_class maps them under fix_imports. */
function py3Global(module: string, name: string): [string, string] {
  const renamed = own(PY2_NAMES, `${module}.${name}`);
  if (renamed === undefined) return [own(PY2_MODULES, module) ?? module, name];
  const dot = renamed.lastIndexOf('.');
  return [renamed.slice(0, dot), renamed.slice(dot + 1)];
}

const RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

/**
 * How bad importing `module.name` is: null for data, a severity with `known` where the callable is known to run
 * code, reach the network or touch files, and 'high' for anything else, which this scan cannot show to be data.
 */
function judgeGlobal(module: string, name: string): { severity: Severity; known: boolean } | null {
  if ((module === 'builtins' || module === '__builtin__') && DANGEROUS_BUILTINS.has(name))
    return { severity: 'critical', known: true };
  const full = `${module}.${name}`;
  // A dotted name is resolved from the module down (protocol 4), so it may spell a loader out in full:
  // `torch.serialization` with `torch.load`.
  const loaderOf = (path: string) =>
    DANGEROUS_IN_SAFE_PACKAGES.find(([p]) => path === p || path.startsWith(`${p}.`))?.[1];
  const loader = loaderOf(full) ?? (name.includes('.') ? loaderOf(name) : undefined);
  // A name that starts with an underscore may be a module's alias of another (collections._sys is sys).
  const path = name.includes('.') || name.startsWith('_') ? classifyAttributePath(name) : undefined;
  const worst = [loader, path].reduce<Severity | undefined>(
    (a, b) => (b && (!a || RANK[b] > RANK[a]) ? b : a),
    undefined,
  );
  if (worst) return { severity: worst, known: true };
  if (!name.includes('.') && isData(module, name)) return null;
  const byModule = own(DANGEROUS_MODULES, module) ?? own(DANGEROUS_MODULES, module.split('.')[0]!);
  if (byModule) return { severity: byModule, known: true };
  return { severity: 'high', known: false };
}

export function classifyGlobal(module: string, name: string): Severity | null {
  return judgeGlobal(module, name)?.severity ?? null;
}

/**
 * From protocol 4 on, find_class resolves a dotted name attribute by attribute, so module `torch` with name
 * `os.system` is os.system (torch imports os). No allow-listed module vouches for where such a path leads: each
 * step is judged (a module alias like `_os` as the module). Undefined where no step is known to be dangerous.
 */
function classifyAttributePath(name: string): Severity | undefined {
  let worst: Severity | undefined;
  for (const part of name.split('.')) {
    const severity: Severity | undefined = DANGEROUS_BUILTINS.has(part)
      ? 'critical'
      : (own(DANGEROUS_MODULES, part) ??
        own(DANGEROUS_MODULES, part.replace(/^_+/, '')) ??
        (/^__\w+__$/.test(part) ? 'high' : undefined));
    if (severity && (!worst || RANK[severity] > RANK[worst])) worst = severity;
  }
  return worst;
}

/**
 * A stack or memo slot: a str constant the stream spelled out, or (a number) anything else, as the byte offset of
 * the opcode that produced it or one of the negative codes below.
 */
type Value = string | number;
/** Popped from an empty stack, or from below a MARK. */
const UNDERFLOW = -1;
/** Fetched from a memo slot nothing stored. */
const UNSET = -2;
/** Beyond what the scan keeps (a stack or memo past its limit below). */
const UNTRACKED = -3;

/** Longer str constants are never decoded: no module or attribute name is this long. */
const MAX_CONSTANT_BYTES = 4096;
/** Stack values plus MARKs kept; past this the stack is dropped and what lay below it is unknown. */
const MAX_STACK = 1 << 22;
/** Memo slots kept (a JavaScript Map holds at most 2^24). */
const MAX_MEMO = 1 << 22;

const decoder = new TextDecoder('utf-8', { fatal: false });
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const latin1 = (raw: Uint8Array): string =>
  Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');

/** Python's escapes in a STRING argument after its quotes; `\n` and the like become one byte each. */
const BYTE_ESCAPES: Record<number, number> = {
  0x0a: -1, // backslash-newline: nothing
  0x5c: 0x5c,
  0x27: 0x27,
  0x22: 0x22,
  0x62: 0x08,
  0x66: 0x0c,
  0x74: 0x09,
  0x6e: 0x0a,
  0x72: 0x0d,
  0x76: 0x0b,
  0x61: 0x07,
};
const isOctal = (b: number | undefined): b is number => b !== undefined && b >= 0x30 && b <= 0x37;
const isHex = (b: number | undefined): b is number =>
  b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));

/** codecs.escape_decode, as pickle.py applies it to a STRING argument (bytes out, here as latin-1 text). */
function escapeDecode(raw: Uint8Array): string | null {
  let out = '';
  for (let i = 0; i < raw.length;) {
    const c = raw[i++]!;
    if (c !== 0x5c) {
      out += String.fromCharCode(c);
      continue;
    }
    if (i >= raw.length) return null; // "Trailing \ in string"
    const e = raw[i++]!;
    const simple = BYTE_ESCAPES[e];
    if (simple !== undefined) {
      if (simple >= 0) out += String.fromCharCode(simple);
    } else if (isOctal(e)) {
      let v = e - 0x30;
      for (let k = 0; k < 2 && isOctal(raw[i]); k++) v = v * 8 + raw[i++]! - 0x30;
      out += String.fromCharCode(v & 0xff);
    } else if (e === 0x78) {
      if (!isHex(raw[i]) || !isHex(raw[i + 1])) return null; // "invalid \x escape"
      out += String.fromCharCode(parseInt(latin1(raw.subarray(i, i + 2)), 16));
      i += 2;
    } else out += '\\' + String.fromCharCode(e); // an unknown escape stays as written
  }
  return out;
}

/**
 * Whether a string opcode's argument starts as a pickle of protocol 2 to 5 does when each of its bytes is
 * written as one character: U+0080 is C2 80 in UTF-8, the byte 80 in latin-1 and raw-unicode-escape, and `\x80`
 * in a quoted STRING.
 */
function rendersPickle(text: Text, raw: Uint8Array): boolean {
  switch (text) {
    case 'utf8':
      return raw[0] === 0xc2 && startsPickle(raw, 1);
    case 'latin1':
    case 'raw-unicode-escape':
      return startsPickle(raw);
    case 'escaped':
      return /^['"]\\x80\\x0[2-5]/.test(latin1(raw.subarray(0, 10)));
  }
}

/** The bytes `text.encode('latin1')` gives, or null when a character is outside latin-1. */
function latin1Bytes(text: string): Uint8Array | null {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) return null;
    out[i] = c;
  }
  return out;
}

/** The raw-unicode-escape codec, as pickle.py applies it to a UNICODE argument: only \uXXXX and \UXXXXXXXX. */
function rawUnicodeEscape(raw: Uint8Array): string | null {
  let out = '';
  for (let i = 0; i < raw.length;) {
    const c = raw[i++]!;
    if (c !== 0x5c || i >= raw.length) {
      out += String.fromCharCode(c);
      continue;
    }
    const e = raw[i++]!;
    const count = e === 0x75 ? 4 : e === 0x55 ? 8 : 0;
    if (count === 0) {
      out += '\\' + String.fromCharCode(e);
      continue;
    }
    for (let k = 0; k < count; k++) if (!isHex(raw[i + k])) return null;
    const codePoint = parseInt(latin1(raw.subarray(i, i + count)), 16);
    if (codePoint > 0x10ffff) return null;
    out += String.fromCodePoint(codePoint);
    i += count;
  }
  return out;
}

/** The str Python would push for a string opcode's argument, or null where it pushes none (or it is too long). */
function constant(text: Text, raw: Uint8Array): string | null {
  return raw.length > MAX_CONSTANT_BYTES ? null : decodeText(text, raw);
}

/** The str Python would push for a string opcode's argument, or null where it pushes none. */
function decodeText(text: Text, raw: Uint8Array): string | null {
  switch (text) {
    case 'utf8':
      try {
        return strictUtf8.decode(raw);
      } catch {
        return null;
      }
    case 'latin1':
      return latin1(raw);
    case 'escaped': {
      // STRING's argument must be quoted, the same quote at both ends.
      const q = raw[0];
      if (raw.length < 2 || (q !== 0x27 && q !== 0x22) || raw[raw.length - 1] !== q) return null;
      return escapeDecode(raw.subarray(1, raw.length - 1));
    }
    case 'raw-unicode-escape':
      return rawUnicodeEscape(raw);
  }
}

/**
 * A memo index as pickle.py reads a PUT or GET line, int() of the text: surrounding whitespace, a sign, underscores
 * between digits, leading zeros. Returns a number where it is exact (so that text and binary opcodes share slots),
 * else its canonical decimal text; 'negative' for an index below zero, null for text int() rejects.
 */
function memoIndex(line: string): number | string | null {
  const m = /^[ \t\n\r\v\f]*([+-]?)(\d+(?:_\d+)*)[ \t\n\r\v\f]*$/.exec(line);
  if (!m) return null;
  const digits = m[2]!.replaceAll('_', '').replace(/^0+(?=\d)/, '');
  if (m[1] === '-' && digits !== '0') return 'negative';
  return digits.length <= 15 ? Number(digits) : digits;
}

/**
 * Pickles held in bytes constants are scanned this many levels down. torch.storage._load_from_bytes and
 * pickle.loads unpickle such a constant (both are flagged themselves); a file whose pickles nest deeper than
 * this is refused unread. Each level rescans only bytes the level above holds, so the work stays within
 * (MAX_NESTING + 1) times the file's size.
 */
const MAX_NESTING = 3;
/** Where Python's unpickler raises, and so stops running the stream. */
const UNPICKLER_ERRORS = new Set([
  'pickle.truncated',
  'pickle.invalid_opcode',
  'pickle.stack_underflow',
  'pickle.memo_unset',
]);
/** What a stream reports only when it is no well-formed pickle: the marks of data read as opcodes. */
export const MALFORMED = new Set([...UNPICKLER_ERRORS, 'pickle.too_complex', 'pickle.scan_error']);
/**
 * Whether a module or attribute path from GLOBAL, INST or STACK_GLOBAL could name something Python imports:
 * dotted identifiers (find_class imports the module and getattr()s each part of the name). Bytes that are no
 * pickle, read as one, give names with NULs, spaces and control characters, on whose import Python fails.
 */
const isDottedName = (path: string): boolean =>
  path.split('.').every((part) => /^[\p{ID_Start}_][\p{ID_Continue}]*$/u.test(part));
/** Unknown imports of names that isDottedName refuses: in a stream that fails, no sign of what it runs. */
const UNIMPORTABLE = new WeakSet<Finding>();
/** The most findings one file reports: the most severe first, and a count of the rest. */
const MAX_FINDINGS = 1000;
/** The opcodes that push an imported global: GLOBAL, STACK_GLOBAL, EXT1, EXT2, EXT4. */
const IMPORTS = new Set([0x63, 0x93, 0x82, 0x83, 0x84]);
/** The opcodes that call: REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST. */
const CALLS = new Set([0x52, 0x81, 0x92, 0x6f, 0x69]);
/** The opcodes that push a bytes (or bytearray) constant: where a nested pickle travels. */
const BYTES_OPCODES = new Set(['BINBYTES', 'SHORT_BINBYTES', 'BINBYTES8', 'BYTEARRAY8']);

/** Whether bytes start as pickle.dumps writes them from protocol 2 on: PROTO and a protocol it knows. */
const startsPickle = (bytes: Uint8Array, at = 0): boolean =>
  bytes[at] === 0x80 && bytes[at + 1] !== undefined && bytes[at + 1]! >= 2 && bytes[at + 1]! <= 5;

/**
 * Whether a constant that does not start as a protocol 2 pickle could still be one of protocol 0 or 1 that imports
 * something: a STOP, and the newline a GLOBAL or INST ends its names with (or a STACK_GLOBAL). A bare word of a
 * vocabulary is not worth a walk.
 */
const mayHoldPickle = (raw: Uint8Array): boolean =>
  raw.length >= 4 && raw.includes(0x2e) && (raw.includes(0x0a) || raw.includes(0x93));

/**
 * What torch.save's legacy format writes first: PROTO 2 and LONG1 of its magic number 0x1950a86a20f9469cfc6c.
 * After its pickles come raw tensor bytes that are no pickle.
 */
const TORCH_LEGACY_MAGIC = Uint8Array.of(
  0x8a,
  0x0a,
  0x6c,
  0xfc,
  0x9c,
  0x46,
  0xf9,
  0x20,
  0x6a,
  0xa8,
  0x50,
  0x19,
);
/** Where the magic number's LONG1 lies: after PROTO, and a FRAME header from protocol 4 on. */
const isTorchLegacy = (bytes: Uint8Array): boolean => {
  const at = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 32)).indexOf(
    TORCH_LEGACY_MAGIC,
  );
  return at === 2 || at === 11;
};

const JOBLIB_WRAPPER = 'joblib.numpy_pickle.NumpyArrayWrapper';
/** The globals whose every use the scan follows, to find where joblib reads an array's raw bytes. */
const FOLLOWED = new Set([JOBLIB_WRAPPER, 'numpy.dtype', 'copyreg._reconstructor']);
/** Structures (tuples, dicts, objects) kept while following joblib's wrappers; past this a wrapper is unreadable. */
const MAX_FOLLOWED = 1 << 20;
/** NumPy's object flag (NPY_ITEM_HASOBJECT) in a dtype's pickled state: joblib pickles such an array. */
const NPY_ITEM_HASOBJECT = 0x01;

/**
 * One walk over the bytes.
 * - 'file': the file's own streams, as pickle.load or joblib.load reads them.
 * - 'nested': a pickle inside a constant, as pickle.loads reads it.
 * - 'embedded': the pickle joblib writes for an object array, read by one pickle.load; the walk returns its end.
 * - 'plain': the bytes after a joblib array wrapper's BUILD read as pickle.load (not joblib) reads them, the array
 *   data as opcodes, up to where a load would fail or the walk reaches `until`, where joblib's reading goes on.
 */
interface Walk {
  mode: 'file' | 'nested' | 'embedded' | 'plain';
  from: number;
  depth: number;
  until?: number;
  /** The protocol a 'plain' walk goes on with. */
  proto?: number | null;
  /** Opcodes the 'plain' walks of one file may still read, so that they cost no more than a few walks of it. */
  budget?: { opcodes: number };
}

/**
 * Scans one pickle stream (or several concatenated, as joblib and torch write them), and the pickles inside
 * its bytes constants. Never throws on bad input: a malformed stream (truncated, an unknown opcode, a stack
 * underflow, a memo slot never set) is a finding.
 */
export function scanPickle(bytes: Uint8Array, location = 'pickle'): Finding[] {
  const all: Finding[] = [];
  scanStream(bytes, location, all, { mode: 'file', from: 0, depth: 0 });
  // joblib's reading and pickle.load's may both reach one opcode (an object array's pickle): it is one finding.
  const seen = new Set<string>();
  const findings = all.filter((f) => {
    const key = `${f.id}\u0000${f.location ?? ''}\u0000${f.message}`;
    return !seen.has(key) && seen.add(key);
  });
  if (findings.length <= MAX_FINDINGS) return findings;
  const kept = findings
    .map((finding, i) => ({ finding, i }))
    .sort((a, b) => RANK[b.finding.severity] - RANK[a.finding.severity] || a.i - b.i)
    .slice(0, MAX_FINDINGS - 1)
    .map(({ finding }) => finding);
  const worst = findings.length - kept.length;
  kept.push({
    id: 'pickle.too_many_findings',
    severity: 'medium',
    message: `${worst} further findings, none more severe than those listed, are left out`,
    location,
  });
  return kept;
}

function scanStream(bytes: Uint8Array, location: string, findings: Finding[], walk: Walk): number | null {
  try {
    return scan(bytes, location, findings, walk);
  } catch (cause) {
    findings.push({
      id: 'pickle.scan_error',
      severity: 'high',
      message: `the pickle scan could not finish: ${(cause as Error).message}`,
      location,
    });
    return null;
  }
}

/** The integer a value holds, read back from the opcode that pushed it; null where it is none (or past 2^53). */
function intAt(bytes: Uint8Array, v: Value): number | null {
  if (typeof v !== 'number' || v < 0) return null;
  const le = (at: number, n: number, signed: boolean): number | null => {
    if (at + n > bytes.length || n > 7) return null;
    let x = 0;
    for (let k = n - 1; k >= 0; k--) x = x * 256 + bytes[at + k]!;
    return signed && n > 0 && bytes[at + n - 1]! >= 0x80 ? x - 2 ** (8 * n) : x;
  };
  switch (bytes[v]) {
    case 0x4b: // BININT1
      return le(v + 1, 1, false);
    case 0x4d: // BININT2
      return le(v + 1, 2, false);
    case 0x4a: // BININT
      return le(v + 1, 4, true);
    case 0x8a: // LONG1
      return bytes[v + 1] === undefined ? null : le(v + 2, bytes[v + 1]!, true);
    case 0x88: // NEWTRUE
      return 1;
    case 0x89: // NEWFALSE
      return 0;
    case 0x49: // INT
    case 0x4c: {
      // LONG
      const end = bytes.indexOf(0x0a, v);
      const m = /^\s*([+-]?\d{1,15})L?\s*$/.exec(latin1(bytes.subarray(v + 1, end < 0 ? v + 1 : end)));
      return m ? Number(m[1]) : null;
    }
  }
  return null;
}

/**
 * The size in bytes of one element of a dtype NumPy pickled as dtype(descr, …) with BUILD's state, or 'object'
 * when it holds Python objects; null where the scan cannot tell. A flexible type (S, U, V) takes its size from the
 * state, as numpy's __setstate__ does.
 */
function itemSize(
  descr: string,
  state: Value[] | null | undefined,
  bytes: Uint8Array,
): number | 'object' | null {
  const m = /^[|<>=]?([a-zA-Z])(\d*)$/.exec(descr);
  if (!m) return null;
  const [, kind, digits] = m as unknown as [string, string, string];
  const flags = state ? intAt(bytes, state[7] ?? -1) : 0;
  if (kind === 'O' || (flags !== null && flags & NPY_ITEM_HASOBJECT)) return 'object';
  if (state !== undefined && (state === null || flags === null)) return null;
  if ('SUVa'.includes(kind)) {
    const stated = state ? intAt(bytes, state[5] ?? -1) : null;
    if (stated !== null && stated >= 0) return stated;
    if (kind === 'V' && state) return null;
    return digits === '' ? null : Number(digits) * (kind === 'U' ? 4 : 1);
  }
  return 'biufcMm'.includes(kind) && digits !== '' ? Number(digits) : null;
}

function scan(bytes: Uint8Array, location: string, findings: Finding[], walk: Walk): number | null {
  const { depth, mode } = walk;
  // Every global the stream imports, benign or not: each is judged once, and all are counted in the summary.
  const imports = new Set<string>();
  let pos = walk.from;
  let calls = 0;
  // pickle.load reads one stream and leaves the file after its STOP; a second load runs whatever follows, with
  // or without PROTO (torch's legacy format loads five in a row, a loop of load() any number). So the bytes after
  // a STOP are scanned as a further stream. But they may be no pickle at all (torch's legacy format appends raw
  // tensor data), so in such a stream an error Python's unpickler raises is no finding: it ends the scan where
  // that load would end, and what the stream imported or called before it counts.
  // A 'plain' walk reads array bytes as opcodes: from its first byte, a failure is where that load stops.
  let following: { start: number; findings: number } | null =
    mode === 'plain' ? { start: pos, findings: findings.length } : null;
  /** Where Python's unpickler raises in the following stream: nothing from there on runs. */
  let failsAt: number | null = null;
  /** Where the last stream to reach its STOP ended, with the calls and imports up to there. */
  let ended: { at: number; calls: number; imports: number } | null = null;
  const readLineBytes = (): Uint8Array | null => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) return null;
    const line = bytes.subarray(pos, end);
    pos = end + 1;
    return line;
  };
  const readLine = (): string | null => {
    const line = readLineBytes();
    return line === null ? null : decoder.decode(line);
  };
  const readUint = (n: number): number | null => {
    if (pos + n > bytes.length) return null;
    let v = 0;
    for (let k = n - 1; k >= 0; k--) v = v * 256 + bytes[pos + k]!;
    pos += n;
    return v;
  };
  /**
   * The protocol of the stream being read, which decides whether Python 2's names are mapped (find_class maps them
   * below protocol 3); null in a stream after a STOP that has no PROTO yet, which a new Unpickler reads as protocol
   * 0 and one reused as the last stream's.
   */
  let proto: number | null = walk.proto === undefined ? 0 : walk.proto;
  // joblib.load reads an array's raw bytes straight after the BUILD of a NumpyArrayWrapper (joblib's
  // NumpyUnpickler.load_build), with no opcode to say so: their length comes from the wrapper's state, its shape
  // and dtype. So from the wrapper class's import on, the scan keeps the tuples, dicts and calls such a state is
  // made of, and at each BUILD of a wrapper steps over the bytes joblib reads. pickle.load, not knowing the
  // wrapper, reads the same bytes as opcodes; a 'plain' walk reads them so.
  /** The values that are a global FOLLOWED names, by the offset that pushed them. */
  const followed = new Map<number, string>();
  /** Where NumpyArrayWrapper is first imported: no value pushed before can be it, or an instance of it. */
  let wrapperSince: number | null = null;
  /** The values pushed since that are globals. */
  const globalsAt = new Set<number>();
  const tuples = new Map<number, Value[]>();
  const dicts = new Map<number, Map<string, Value>>();
  /** What a call made: a wrapper, a dtype (its descr and BUILD state), or what may be a wrapper. */
  type Made = 'wrapper' | 'unknown' | { descr: Value; state?: Value };
  const made = new Map<number, Made>();
  let structures = 0;
  const plainBudget = walk.budget ?? { opcodes: 4 * bytes.length + 4096 };
  const note = (module: string, name: string, opcode: string, offset: number): void => {
    if (failsAt !== null) return;
    const as2 = py3Global(module.trim(), name.trim());
    const as3: [string, string] = [module.trim(), name.trim()];
    const readings = proto === null ? [as2, as3] : proto < 3 ? [as2] : [as3];
    const judged = readings.map(([m, n]) => ({ key: `${m}.${n}`, judgement: judgeGlobal(m, n) }));
    const worst = judged.reduce((a, b) =>
      (b.judgement ? RANK[b.judgement.severity] : -1) > (a.judgement ? RANK[a.judgement.severity] : -1)
        ? b
        : a,
    );
    if (FOLLOWED.has(worst.key) && followed.size < MAX_FOLLOWED) {
      followed.set(offset, worst.key);
      if (worst.key === JOBLIB_WRAPPER && mode === 'file') wrapperSince ??= offset;
    } else if (wrapperSince !== null && opcode !== 'INST' && structures < MAX_FOLLOWED) {
      structures++;
      globalsAt.add(offset);
    }
    const key = `${as3[0]}.${as3[1]}`;
    if (imports.has(key)) return;
    imports.add(key);
    const { judgement } = worst;
    if (judgement) {
      const as = worst.key === key ? '' : ` (Python 3 reads it as ${worst.key})`;
      const finding: Finding = {
        id: judgement.known ? 'pickle.dangerous_import' : 'pickle.unknown_import',
        severity: judgement.severity,
        message: judgement.known
          ? `${opcode} imports ${key}${as}; unpickling this file would import and can call it`
          : `${opcode} imports ${key}${as}, which is not known to be data; unpickling this file would import and can call it`,
        location: `${location}@${offset}`,
      };
      findings.push(finding);
      if (!judgement.known && !readings.some(([m, n]) => isDottedName(m) && isDottedName(n)))
        UNIMPORTABLE.add(finding);
    }
  };
  /**
   * The calls whose callee was imported (GLOBAL, STACK_GLOBAL, an extension code) or was itself such a call's
   * result: what they return may be a callable the imports never named. Kept across the streams of one file, as
   * the memo is.
   */
  const callResults = new Set<number>();
  /**
   * Model pickles call what they import: a class, a reconstructor, a data constructor. A call of what a call
   * returned is how a chain of imports that each pass as data reaches code no import names
   * (attrgetter('__builtins__.get')(f) is the builtins dict's get, and get('eval') is eval), so it is high
   * whatever the imports were. numpy's, torch's and sklearn's pickles hand a call's result to another call only as
   * an argument, or to BUILD, never as the callee.
   */
  const noteCall = (opcode: string, callee: Value, offset: number): void => {
    if (typeof callee !== 'number' || callee < 0) return;
    // Past MAX_MEMO calls kept, any call's result counts as one whose callee was imported.
    const full = callResults.size >= MAX_MEMO;
    if (callResults.has(callee) || (full && CALLS.has(bytes[callee]!))) {
      report(
        'pickle.call_of_call',
        'high',
        `${opcode} calls what the ${OPCODES[bytes[callee]!]?.name ?? 'opcode'} at byte ${callee} returned: a callable no import names, which cannot be shown safe`,
        offset,
      );
      if (!full) callResults.add(offset);
    } else if (!full && IMPORTS.has(bytes[callee]!)) callResults.add(offset);
  };
  // Reported once per id, with a count at the end: a hostile stream can repeat one malformation millions of times.
  const repeated = new Map<string, { finding: Finding; count: number }>();
  const report = (id: string, severity: Severity, message: string, offset: number): void => {
    if (failsAt !== null) return;
    if (following && UNPICKLER_ERRORS.has(id)) {
      failsAt = offset;
      return;
    }
    const seen = repeated.get(id);
    if (seen) {
      seen.count++;
      return;
    }
    const finding: Finding = { id, severity, message, location: `${location}@${offset}` };
    findings.push(finding);
    repeated.set(id, { finding, count: 1 });
  };
  const tooComplex = (offset: number): void =>
    report(
      'pickle.too_complex',
      'low',
      `the stream holds more than ${MAX_STACK} stack values or memo slots; the scan treats the excess as unknown`,
      offset,
    );
  const describe = (v: Value): string =>
    typeof v === 'string'
      ? `'${v.length > 80 ? `${v.slice(0, 80)}…` : v}'`
      : v === UNDERFLOW
        ? 'missing (stack underflow)'
        : v === UNSET
          ? 'a memo slot nothing stored'
          : v === UNTRACKED
            ? 'a value the scan no longer tracks'
            : OPCODES[bytes[v]!]?.text
              ? `a string at byte ${v} that the scan does not decode (malformed or over ${MAX_CONSTANT_BYTES} bytes)`
              : `the ${OPCODES[bytes[v]!]?.name ?? 'opcode'} result at byte ${v}, not a str constant`;

  // The unpickler's state. `marks` holds the stack height at each MARK (as _pickle.c does); a pop never reaches
  // below the topmost one. `lost`: the stack outgrew MAX_STACK and was dropped, so below it lies the unknown.
  let stack: Value[] = [];
  let marks: number[] = [];
  // A 'plain' walk starts amid a stream whose stack it does not know.
  let lost = mode === 'plain';
  const memo = new Map<number | string, Value>();
  let memoLen = 0; // len(memo) in pickle.py: the slot MEMOIZE fills
  let memoLost = false;
  const fence = (): number => (marks.length > 0 ? marks[marks.length - 1]! : 0);
  const underflow = (op: string, offset: number): number => {
    if (lost && marks.length === 0) return UNTRACKED;
    report(
      'pickle.stack_underflow',
      'medium',
      `${op} needs a value the stack does not hold; Python's unpickler would stop here`,
      offset,
    );
    return UNDERFLOW;
  };
  const pop = (op: string, offset: number): Value =>
    stack.length > fence() ? stack.pop()! : underflow(op, offset);
  const peek = (op: string, offset: number): Value =>
    stack.length > fence() ? stack[stack.length - 1]! : underflow(op, offset);
  /** Pops to the topmost MARK; what lay above it is returned while joblib's wrappers are followed. */
  const popMark = (op: string, offset: number): Value[] => {
    const mark = marks.pop();
    if (mark !== undefined) {
      const above = wrapperSince === null ? [] : stack.slice(mark);
      stack.length = mark;
      return above;
    } else {
      if (!lost)
        report(
          'pickle.stack_underflow',
          'medium',
          `${op} needs a MARK the stack does not hold; Python's unpickler would stop here`,
          offset,
        );
      stack = [];
      return [];
    }
  };
  const room = (offset: number): void => {
    if (stack.length + marks.length < MAX_STACK) return;
    tooComplex(offset);
    stack = [];
    marks = [];
    lost = true;
  };
  const push = (v: Value, offset: number): void => {
    room(offset);
    stack.push(v);
  };
  const store = (key: number | string, v: Value, offset: number): void => {
    if (!memo.has(key)) {
      memoLen++;
      if (memo.size >= MAX_MEMO) {
        memoLost = true;
        tooComplex(offset);
        return;
      }
    }
    memo.set(key, v);
  };
  const fetch = (key: number | string, op: string, offset: number): Value => {
    const v = memo.get(key);
    if (v !== undefined) return v;
    if (memoLost) return UNTRACKED;
    report(
      'pickle.memo_unset',
      'medium',
      `${op} fetches memo slot ${key}, which nothing stored; Python's unpickler would stop here`,
      offset,
    );
    return UNSET;
  };
  const badIndex = (op: string, offset: number): void =>
    report(
      'pickle.memo_unset',
      'medium',
      `${op} names a memo slot that is not a non-negative integer; Python's unpickler would stop here`,
      offset,
    );

  // A bytes constant that is itself a pickle stream is what torch.storage._load_from_bytes (or a REDUCE of
  // pickle.loads) unpickles: its imports are as much the file's as the outer stream's. Array data can begin as
  // a pickle does (an int64 640 is 80 02 00 …), so only a constant that reads as a pickle, opcode by opcode to
  // its STOP, counts as one; a finding it repeats is counted on the first, so nesting adds no more findings
  // than the distinct things it holds.
  const nestedSeen = new Map<string, { finding: Finding; count: number }>();
  //
  // A constant that starts with no PROTO may hold a pickle of protocol 0 or 1 (pickle.loads of
  // `cos\nsystem\n…`), but so may array data or text by chance, a few opcodes to a STOP: from such a constant
  // only what is known to be dangerous counts, never an import merely unknown. The loader that unpickles it is an
  // import of its own, flagged.
  const nested = (inner: Uint8Array, offset: number): void => {
    const where = `${location}@${offset}>nested`;
    const framed = startsPickle(inner);
    if (!framed && !mayHoldPickle(inner)) return;
    if (depth >= MAX_NESTING) {
      if (!framed) return;
      findings.push({
        id: 'pickle.nested_too_deep',
        severity: 'high',
        message: `a bytes constant holds a pickle nested more than ${MAX_NESTING} levels deep; it is not scanned`,
        location: where,
      });
      return;
    }
    const found: Finding[] = [];
    scanStream(inner, where, found, { mode: 'nested', from: 0, depth: depth + 1 });
    if (!found.some((f) => f.id === 'pickle.stop') || found.some((f) => MALFORMED.has(f.id))) return;
    for (const finding of found) {
      if (finding.severity === 'info' || (!framed && finding.id === 'pickle.unknown_import')) continue;
      const key = `${finding.id}\u0000${finding.message}`;
      const seen = nestedSeen.get(key);
      if (seen) seen.count++;
      else {
        const copy = { ...finding };
        nestedSeen.set(key, { finding: copy, count: 1 });
        findings.push(copy);
      }
    }
  };

  // A str constant can hold a nested pickle too. Protocols 0 to 2 have no bytes opcode: pickle.dumps writes
  // bytes as _codecs.encode(str, 'latin1'), one character a byte; and a Python 2 str, which Python 3 loads as
  // bytes with encoding='bytes', is a STRING, BINSTRING or SHORT_BINSTRING. Such a constant is scanned as the
  // bytes it stands for.
  const nestedInText = (text: Text, raw: Uint8Array, offset: number): void => {
    if (!rendersPickle(text, raw) && !mayHoldPickle(raw)) return;
    const value = decodeText(text, raw);
    const inner = value === null ? null : latin1Bytes(value);
    if (inner) nested(inner, offset);
  };

  /** What a call of `callee` (with `args`, for REDUCE) made, where it may matter to a BUILD. */
  const madeBy = (callee: Value, args: Value | undefined): Made | null => {
    if (typeof callee !== 'number') return null;
    if (callee < 0) return callee === UNTRACKED ? 'unknown' : null;
    const name = followed.get(callee);
    const tuple = typeof args === 'number' ? tuples.get(args) : undefined;
    if (name === JOBLIB_WRAPPER) return 'wrapper';
    if (name === 'numpy.dtype') return { descr: tuple?.[0] ?? UNTRACKED };
    // Protocols 0 and 1 build an object as copyreg._reconstructor(cls, object, None).
    if (name === 'copyreg._reconstructor')
      return tuple ? madeBy(tuple[0] ?? UNDERFLOW, undefined) : 'unknown';
    // A callee pushed since the wrapper's import that is no global may be the wrapper class, returned by a call.
    return callee < wrapperSince! || name !== undefined || globalsAt.has(callee) ? null : 'unknown';
  };
  /**
   * Keeps what a wrapper's state is made of, from the opcode's popped values (in the order popped) and those
   * above its MARK; returns what it pushes: the dict SETITEMS fills and the object BUILD sets, as Python does.
   */
  const follow = (name: string, offset: number, popped: Value[], above: Value[], value: Value): Value => {
    const target = popped[popped.length - 1];
    const same = typeof target === 'number' ? target : value;
    if (structures >= MAX_FOLLOWED) return value;
    switch (name) {
      case 'EMPTY_TUPLE':
      case 'TUPLE':
      case 'TUPLE1':
      case 'TUPLE2':
      case 'TUPLE3':
        structures++;
        tuples.set(offset, name === 'TUPLE' ? above : [...popped].reverse());
        return value;
      case 'EMPTY_DICT':
      case 'DICT':
      case 'SETITEM':
      case 'SETITEMS': {
        const pairs = name === 'SETITEM' ? [popped[1]!, popped[0]!] : above;
        const created = name.endsWith('DICT');
        const entries = created ? new Map<string, Value>() : dicts.get(same as number);
        if (!entries) return same;
        if (created) dicts.set(offset, entries);
        for (let k = 0; k + 1 < pairs.length; k += 2) {
          const key = pairs[k]!;
          if (typeof key === 'string') entries.set(key, pairs[k + 1]!);
        }
        structures += 1 + pairs.length / 2;
        return created ? value : same;
      }
      case 'NEWOBJ':
      case 'NEWOBJ_EX':
      case 'REDUCE':
      case 'OBJ': {
        const kind = madeBy(name === 'OBJ' ? (above[0] ?? UNDERFLOW) : target!, popped[0]);
        if (kind) {
          structures++;
          made.set(offset, kind);
        }
        return value;
      }
      case 'INST':
        if (followed.get(offset) === JOBLIB_WRAPPER) made.set(offset, 'wrapper');
        followed.delete(offset);
        return value;
      case 'BUILD': {
        const object = typeof same === 'number' ? made.get(same) : undefined;
        if (typeof object === 'object') object.state = popped[0];
        return same;
      }
    }
    return value;
  };
  /**
   * How many bytes joblib reads for the wrapper whose BUILD state is `state`: the array's (shape times itemsize),
   * after a padding byte and that many bytes where the state holds numpy_array_alignment_bytes; 'object' where
   * joblib pickle.load()s the array instead; or why the scan cannot tell.
   */
  const arrayLayout = (state: Value): { bytes: number; padded: boolean } | 'object' | string => {
    const fields = typeof state === 'number' ? dicts.get(state) : undefined;
    if (!fields) return 'its state is no dict the scan followed';
    const shape = fields.get('shape');
    const dims = typeof shape === 'number' ? tuples.get(shape) : undefined;
    if (!dims) return 'its shape is no tuple the scan followed';
    let count = 1;
    for (const dim of dims) {
      const n = intAt(bytes, dim);
      if (n === null || n < 0) return 'its shape holds what is no integer the scan reads';
      count *= n;
    }
    const dtype = fields.get('dtype');
    const numpyDtype = typeof dtype === 'number' ? made.get(dtype) : undefined;
    if (typeof numpyDtype !== 'object' || typeof numpyDtype.descr !== 'string')
      return 'its dtype is no numpy.dtype the scan followed';
    const dtypeState = numpyDtype.state;
    const stateTuple =
      dtypeState === undefined
        ? undefined
        : typeof dtypeState === 'number'
          ? (tuples.get(dtypeState) ?? null)
          : null;
    const size = itemSize(numpyDtype.descr, stateTuple, bytes);
    if (size === null) return `its dtype ${numpyDtype.descr} is one the scan cannot size`;
    if (size === 'object') return 'object';
    const alignment = fields.get('numpy_array_alignment_bytes');
    // joblib pads when the attribute is there and not None.
    const padded = alignment !== undefined && !(typeof alignment === 'number' && bytes[alignment] === 0x4e);
    return { bytes: count * size, padded };
  };
  /** Reads the bytes from `from` as pickle.load would after a wrapper's BUILD: as opcodes, array data or not. */
  const plainWalk = (from: number, until?: number): void => {
    scanStream(bytes, location, findings, { mode: 'plain', from, depth, until, proto, budget: plainBudget });
  };
  /** Where joblib's reading goes on after the array a wrapper's BUILD at `offset` reads; null where it stops. */
  const joblibArray = (state: Value | null, offset: number): number | null => {
    const start = pos;
    const layout =
      state === null
        ? 'the object it sets may be a NumpyArrayWrapper the scan did not follow'
        : arrayLayout(state);
    if (layout === 'object') {
      // joblib pickle.load()s an object array from the file: a stream of its own, with a memo of its own.
      const end = scanStream(bytes, location, findings, { mode: 'embedded', from: start, depth });
      plainWalk(start, end ?? undefined);
      return end;
    }
    if (typeof layout === 'string') {
      report(
        'pickle.joblib_array',
        'high',
        `joblib reads an array's raw bytes after this BUILD, but ${layout}: where they end, and what follows, cannot be shown safe`,
        offset,
      );
      plainWalk(start);
      return null;
    }
    const end = (layout.padded ? start + 1 + (bytes[start] ?? 0) : start) + layout.bytes;
    plainWalk(start, end);
    if (end <= bytes.length && (!layout.padded || start < bytes.length)) return end;
    report(
      'pickle.truncated',
      'medium',
      `the array data joblib reads after this BUILD runs past the end of the file`,
      offset,
    );
    return null;
  };

  let sawOpcode = false;
  /** Where an 'embedded' walk's pickle ends. */
  let endAt: number | null = null;
  const torchLegacy = mode === 'file' && isTorchLegacy(bytes);
  for (;;) {
    // Where joblib's reading of the file goes on, the file walk reads on.
    if (pos === walk.until) break;
    if (mode === 'plain' && --plainBudget.opcodes < 0) {
      if (plainBudget.opcodes === -1)
        findings.push({
          id: 'pickle.too_complex',
          severity: 'high',
          message: `the array data after joblib's wrappers reads as opcodes further than the scan follows (about four times the file); what those opcodes do cannot be shown safe`,
          location: `${location}@${pos}`,
        });
      break;
    }
    if (pos >= bytes.length) {
      if (following) failsAt = pos;
      else
        findings.push({
          id: 'pickle.truncated',
          severity: 'medium',
          message: sawOpcode ? 'pickle stream ends without STOP' : 'empty pickle stream',
          location,
        });
      break;
    }
    const offset = pos;
    const code = bytes[pos++]!;
    const op = OPCODES[code];
    if (!op) {
      if (following) failsAt = offset;
      else
        findings.push({
          id: 'pickle.invalid_opcode',
          severity: 'medium',
          message: `byte 0x${code.toString(16)} is not a pickle opcode`,
          location: `${location}@${offset}`,
        });
      break;
    }
    sawOpcode = true;
    let raw: Uint8Array | null = null; // a line argument (without its newline), or a counted string's bytes
    let int: number | null = null; // a fixed-width integer argument
    let truncated = false;
    switch (op.arg) {
      case 'none':
        break;
      case 'line':
        raw = readLineBytes();
        truncated = raw === null;
        if (raw && op.text) nestedInText(op.text, raw, offset);
        break;
      case 'twolines': {
        const module = readLine();
        const name = module === null ? null : readLine();
        if (module === null || name === null) truncated = true;
        else note(module, name, op.name, offset);
        break;
      }
      case 1:
      case 2:
      case 4:
      case 8:
        int = readUint(op.arg);
        truncated = int === null;
        break;
      case 'len1':
      case 'len4':
      case 'len8': {
        const n = readUint(op.arg === 'len1' ? 1 : op.arg === 'len4' ? 4 : 8);
        if (n === null || pos + n > bytes.length) truncated = true;
        else {
          if (op.text) {
            raw = bytes.subarray(pos, pos + n);
            nestedInText(op.text, raw, offset);
          } else if (BYTES_OPCODES.has(op.name)) nested(bytes.subarray(pos, pos + n), offset);
          pos += n;
        }
        break;
      }
    }
    if (truncated) {
      if (following) failsAt = offset;
      else
        findings.push({
          id: 'pickle.truncated',
          severity: 'medium',
          message: `${op.name} argument runs past the end of the file`,
          location: `${location}@${offset}`,
        });
      break;
    }
    /** What the opcode popped, in the order popped. */
    const popped: Value[] = [];
    switch (op.name) {
      case 'MARK':
        room(offset);
        marks.push(stack.length);
        break;
      case 'POP':
        // A MARK on top is popped like a value (pickle.py pops the mark stack when the stack above it is empty).
        if (marks.length > 0 && marks[marks.length - 1] === stack.length) marks.pop();
        else pop(op.name, offset);
        break;
      case 'DUP':
        push(peek(op.name, offset), offset);
        break;
      case 'PUT':
      case 'BINPUT':
      case 'LONG_BINPUT':
      case 'MEMOIZE': {
        const key =
          op.name === 'MEMOIZE' ? memoLen : op.name === 'PUT' ? memoIndex(decoder.decode(raw!)) : int!;
        // Python stores nothing when the stack holds nothing above the topmost MARK.
        const top =
          stack.length > fence() ? stack[stack.length - 1]! : lost && marks.length === 0 ? UNTRACKED : null;
        if (key === null || key === 'negative') badIndex(op.name, offset);
        else if (top === null) underflow(op.name, offset);
        else store(key, top, offset);
        break;
      }
      case 'GET':
      case 'BINGET':
      case 'LONG_BINGET': {
        const key = op.name === 'GET' ? memoIndex(decoder.decode(raw!)) : int!;
        if (key === null || key === 'negative') badIndex(op.name, offset);
        push(key === null || key === 'negative' ? UNSET : fetch(key, op.name, offset), offset);
        break;
      }
      case 'STACK_GLOBAL': {
        const name = pop(op.name, offset);
        const module = pop(op.name, offset);
        if (typeof module === 'string' && typeof name === 'string') note(module, name, op.name, offset);
        else
          report(
            'pickle.unresolved_global',
            'high',
            `STACK_GLOBAL with a module or name that could not be resolved statically: module ${describe(module)}, name ${describe(name)}`,
            offset,
          );
        push(offset, offset);
        break;
      }
      default: {
        let above: Value[] = [];
        // What OBJ calls: the value just above its MARK.
        const objClass =
          op.name === 'OBJ' && marks.length > 0 && stack.length > fence() ? stack[fence()] : undefined;
        if (typeof op.pops === 'number') for (let k = 0; k < op.pops; k++) popped.push(pop(op.name, offset));
        else {
          // OBJ takes the class from just above the MARK, so it needs one value there.
          if (op.name === 'OBJ' && marks.length > 0 && stack.length === fence()) underflow(op.name, offset);
          above = popMark(op.name, offset);
          if (op.pops === 'mark+1') popped.push(pop(op.name, offset));
        }
        const callee =
          op.name === 'REDUCE' || op.name === 'NEWOBJ'
            ? popped[1]
            : op.name === 'NEWOBJ_EX'
              ? popped[2]
              : objClass;
        if (callee !== undefined) noteCall(op.name, callee, offset);
        else if (op.name === 'INST' && callResults.size < MAX_MEMO) callResults.add(offset);
        let value: Value = op.text && raw !== null ? (constant(op.text, raw) ?? offset) : offset;
        if (wrapperSince !== null && mode === 'file') value = follow(op.name, offset, popped, above, value);
        for (let k = 0; k < op.pushes; k++) push(value, offset);
      }
    }
    if (op.name === 'PROTO') {
      proto = int;
      // load_proto raises on a protocol it does not know, so such a constant is no pickle Python loads.
      if (int! > 5)
        report(
          'pickle.invalid_opcode',
          'medium',
          `PROTO ${int} names a protocol Python does not read`,
          offset,
        );
    }
    if (op.name === 'BUILD' && wrapperSince !== null && mode === 'file' && failsAt === null) {
      const object = popped[1]!;
      const kind =
        typeof object === 'number' ? (object === UNTRACKED ? 'unknown' : made.get(object)) : undefined;
      if (kind === 'wrapper' || kind === 'unknown') {
        const next = joblibArray(kind === 'wrapper' ? popped[0]! : null, offset);
        if (next === null) break;
        pos = next;
      }
    }
    if (
      op.name === 'REDUCE' ||
      op.name === 'NEWOBJ' ||
      op.name === 'NEWOBJ_EX' ||
      op.name === 'OBJ' ||
      op.name === 'INST'
    )
      calls++;
    if (failsAt !== null) break;
    if (op.name === 'STOP') {
      if (mode === 'embedded') {
        endAt = pos;
        break;
      }
      ended = { at: pos, calls, imports: imports.size };
      if (pos >= bytes.length) break;
      // Each load() starts with an empty stack; the memo is kept, as one Unpickler reused for several loads keeps it.
      stack = [];
      marks = [];
      lost = false;
      proto = null;
      following = { start: pos, findings: findings.length };
    }
  }
  if (following && failsAt !== null) {
    // A load that fails has already imported and called what came before the failure (torch's legacy loader
    // runs its second pickle.load, imaplib.IMAP4_stream(cmd) and all, before it reads past the end). So every
    // import and call found up to there counts. What is dropped is what only says these bytes are no pickle,
    // the malformations, and an unknown import whose names no module can have (tensor data that spells GLOBAL
    // reads NULs and stray bytes into them): Python fails on that import itself, having run nothing of it.
    const found = findings.splice(following.findings);
    for (const finding of found)
      if (RANK[finding.severity] >= RANK.medium && !MALFORMED.has(finding.id) && !UNIMPORTABLE.has(finding))
        findings.push(finding);
  }
  if (ended && mode !== 'plain')
    findings.push({
      id: 'pickle.stop',
      severity: 'info',
      message: `pickle ends at byte ${ended.at} with ${ended.calls} call opcode(s) and ${ended.imports} import(s)`,
      location,
    });
  // Only PyTorch's legacy format keeps data after its pickles; in any other file, bytes that stop a further load
  // may hide what lies beyond (a load that fails on one opcode runs none after it, but the scan cannot tell which
  // reader the file was made for). Inside a constant, pickle.loads ignores what follows the STOP.
  if (following && failsAt !== null && mode !== 'plain')
    findings.push({
      id: 'pickle.trailing_data',
      severity: mode === 'file' && !torchLegacy ? 'high' : 'info',
      message:
        mode === 'file' && !torchLegacy
          ? `bytes ${following.start} to ${bytes.length} follow the last pickle but are none (a further load would fail at byte ${failsAt}); no format the scan knows keeps data there, and what they hold cannot be shown safe`
          : `bytes ${following.start} to ${bytes.length} follow the last pickle but are none (a further load would fail at byte ${failsAt}); PyTorch's legacy format keeps tensor data there`,
      location: `${location}@${following.start}`,
    });
  for (const { finding, count } of repeated.values())
    if (count > 1) finding.message += ` (and ${count - 1} more like it in the stream)`;
  for (const { finding, count } of nestedSeen.values())
    if (count > 1) finding.message += ` (and ${count - 1} more like it in other nested pickles)`;
  return endAt;
}
