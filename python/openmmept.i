// SWIG interface of the C++ EPTForce, the module openmmept.binding, generated against OpenMM's own SWIG interface
// files (the openmm wheel's include/swig): EPTForce is an openmm.Force that System.addForce, XmlSerializer and
// copy accept like any other. Users import `openmmept`.
%module(package="openmmept") binding

%import(module="openmm") "swig/OpenMMSwigHeaders.i"
%include "swig/typemaps.i"
%include "std_string.i"
%include "std_vector.i"
%include "std_pair.i"
%include "std_map.i"
%include "stdint.i"

%{
#include "EPTForce.h"
#include "ept/model/batch.h"
#include "ept/training/conformation_graph.h"
#include "ept/error.h"
#include "internal/EPTComplex.h"
#include "OpenMM.h"
#include "OpenMMAmoeba.h"
#include "OpenMMDrude.h"
#include "openmm/RPMDIntegrator.h"
#include "openmm/RPMDMonteCarloBarostat.h"
#include "openmm/OpenMMException.h"

namespace ept::graph_binding {  // conversions for the graph functions below; not wrapped
inline std::vector<int64_t> wide(const std::vector<int>& v) { return std::vector<int64_t>(v.begin(), v.end()); }
inline std::vector<std::vector<Vec3>> frames_of(const std::vector<double>& xyz, int num_frames, int num_atoms) {
  if (static_cast<int64_t>(xyz.size()) != static_cast<int64_t>(num_frames) * num_atoms * 3)
    throw InputError("frames: expected " + std::to_string(num_frames) + " × " + std::to_string(num_atoms) + " × 3 coordinates");
  std::vector<std::vector<Vec3>> frames(num_frames, std::vector<Vec3>(num_atoms));
  for (int f = 0; f < num_frames; ++f)
    for (int i = 0; i < num_atoms; ++i)
      for (int d = 0; d < 3; ++d) frames[f][i][d] = xyz[(static_cast<size_t>(f) * num_atoms + i) * 3 + d];
  return frames;
}
}  // namespace ept::graph_binding
%}

%template(IntVector) std::vector<int>;
%template(DoubleVector) std::vector<double>;
%template(StringVector) std::vector<std::string>;
%template(IntPair) std::pair<int, int>;
%template(IntPairVector) std::vector<std::pair<int, int>>;
%template(StringMap) std::map<std::string, std::string>;
%template(ArrayMap) std::map<std::string, std::vector<double>>;

// C++ exceptions become openmm.OpenMMException with the C++ message.
%exception {
  try {
    $action
  } catch (std::exception& e) {
    PyObject* module = PyImport_ImportModule("openmm");
    PyObject* type = module ? PyObject_GetAttrString(module, "OpenMMException") : nullptr;
    Py_XDECREF(module);
    PyErr_Clear();
    PyErr_SetString(type ? type : PyExc_Exception, e.what());
    Py_XDECREF(type);
    SWIG_fail;
  }
}

// The model bytes are binary: Python reads them from the file instead (see getModelPath, getModelChecksum).
%ignore EPTPlugin::EPTForce::getModelBytes;
%ignore EPTPlugin::EPTForce::fromModelBytes;
%copyctor EPTPlugin::EPTForce;

// What Python users pass: pathlib paths for files, NumPy integers and arrays for indices.
%pythonbegin %{
import os as _os
%}
%pythonprepend EPTPlugin::EPTForce::EPTForce %{
    args = tuple(_os.fspath(a) if isinstance(a, _os.PathLike) else a for a in args)
%}
%pythonprepend EPTPlugin::EPTForce::setChemistryFromPdb %{
    pdbPath = _os.fspath(pdbPath)
%}
%pythonprepend EPTPlugin::EPTForce::setAtoms %{
    particles = [int(p) for p in particles]
%}
%pythonprepend EPTPlugin::EPTForce::setChemistry %{
    atomicNumbers, residueIds = [int(z) for z in atomicNumbers], [int(i) for i in residueIds]
    atomNames, residueNames, chainIds = [str(n) for n in atomNames], [str(r) for r in residueNames], [str(c) for c in chainIds]
    bonds = [(int(a), int(b)) for a, b in bonds]
%}

%include "ept/model/modes.h"
%include "EPTForce.h"

// Graphs over conformations (SIPT), the library's own builders; openmmept.graphs wraps them for NumPy.
// SWIG sees only what Python needs of the class (the header's member initialisers are beyond its parser).
namespace ept {
class ConformationGraph {
 public:
  int64_t num_nodes() const;
  int64_t num_edges() const;
  int64_t degree(int64_t node) const;
  bool has_edge(int64_t i, int64_t j) const;
  int64_t num_components() const;
  const std::string& description() const;
};
void write_edge_list(const ConformationGraph& graph, const std::string& path);
}  // namespace ept
%extend ept::ConformationGraph {
  /// Every undirected edge once (i < j, sorted), flat: [i0, j0, i1, j1, ...].
  std::vector<int> flat_edges() const {
    std::vector<int> out;
    for (const auto& [i, j] : $self->edges()) out.insert(out.end(), {static_cast<int>(i), static_cast<int>(j)});
    return out;
  }
  std::vector<int> components() const { return std::vector<int>($self->component().begin(), $self->component().end()); }
}
%inline %{
namespace ept {
inline ConformationGraph graph_from_edges(int num_nodes, const std::vector<int>& flat_edges, const std::string& description) {
  std::vector<std::pair<int64_t, int64_t>> edges;
  for (size_t k = 0; k + 1 < flat_edges.size(); k += 2) edges.emplace_back(flat_edges[k], flat_edges[k + 1]);
  return ConformationGraph(num_nodes, edges, description);
}
inline ConformationGraph graph_time_lag(const std::vector<int>& frames_per_trajectory, int tau) {
  return time_lag_graph(graph_binding::wide(frames_per_trajectory), tau);
}
/// Coordinates in Å, flat (frames × atoms × 3).
inline ConformationGraph graph_rmsd(const std::vector<double>& xyz, int num_frames, int num_atoms, double radius,
                                    const std::vector<int>& atoms, int threads) {
  return rmsd_graph(graph_binding::frames_of(xyz, num_frames, num_atoms), radius, graph_binding::wide(atoms), threads);
}
inline double graph_superposed_rmsd(const std::vector<double>& a, const std::vector<double>& b, int num_atoms,
                                    const std::vector<int>& atoms) {
  return superposed_rmsd(graph_binding::frames_of(a, 1, num_atoms)[0], graph_binding::frames_of(b, 1, num_atoms)[0],
                         graph_binding::wide(atoms));
}
inline ConformationGraph graph_labels(const std::vector<int>& labels) { return label_graph(graph_binding::wide(labels)); }
inline ConformationGraph graph_read_edge_list(const std::string& path, int num_nodes) { return read_edge_list(path, num_nodes); }
inline std::vector<int> graph_read_labels(const std::string& path, int num_nodes) {
  const auto labels = read_labels(path, num_nodes);
  return std::vector<int>(labels.begin(), labels.end());
}
}  // namespace ept
%}

// The network's inputs for one conformation, built by the library (the graph and batch every evaluation uses), for
// openmmept.torch_model: ML-atom positions in Å (flat), a box of 9 numbers in Å or none; attention mode 0 dense,
// 1 sparse. Every array as float64 (integers exactly), counts as one-element arrays.
%inline %{
namespace ept {
inline std::map<std::string, std::vector<double>> model_inputs(const EPTPlugin::EPTForce& force,
                                                               const std::vector<double>& positions,
                                                               const std::vector<double>& box, int attention,
                                                               double cutoff, bool envelope) {
  const Complex complex = EPTPlugin::buildComplex(force);
  if (static_cast<int64_t>(positions.size()) != 3 * complex.num_atoms())
    throw InputError("model_inputs: " + std::to_string(positions.size() / 3) + " positions for " +
                     std::to_string(complex.num_atoms()) + " ML atoms");
  std::vector<Vec3> x(complex.num_atoms());
  for (size_t i = 0; i < x.size(); ++i) x[i] = {positions[3 * i], positions[3 * i + 1], positions[3 * i + 2]};
  GraphOptions options{attention == 0 ? AttentionMode::Dense : AttentionMode::Sparse, cutoff, envelope, Box::none()};
  if (box.size() == 9)
    options.box = Box::triclinic({box[0], box[1], box[2]}, {box[3], box[4], box[5]}, {box[6], box[7], box[8]});
  else if (!box.empty())
    throw InputError("model_inputs: a box is 9 numbers (three vectors in Å), got " + std::to_string(box.size()));
  const Graph graph = build_graph(complex, x, options);
  const Batch b = make_batch({&complex}, {&graph}, torch::kFloat64);
  std::map<std::string, std::vector<double>> out;
  auto put = [&](const char* name, const torch::Tensor& t) {
    const auto c = t.to(torch::kFloat64).contiguous();
    out[name] = std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  };
  for (auto [name, count] : {std::pair<const char*, int64_t>{"num_real", b.num_real}, {"num_atoms", b.num_atoms},
                            {"num_real_blocks", b.num_real_blocks}, {"num_blocks", b.num_blocks},
                            {"num_segments", b.num_segments}, {"num_complexes", b.num_complexes}})
    out[name] = {static_cast<double>(count)};
  put("atom_type", b.atom_type), put("position_code", b.position_code), put("block_type", b.block_type);
  put("atom_block", b.atom_block), put("is_global", b.is_global), put("receiver", b.receiver);
  put("sender", b.sender), put("edge_type", b.edge_type), put("shift", b.shift), put("enveloped", b.enveloped);
  put("self_pair", b.self_pair), put("real_segment", b.real_segment), put("unwrap", b.unwrap);
  put("segment_size", b.segment_size), put("block_size", b.block_size), put("block_complex", b.block_complex);
  put("block_segment", b.block_segment);
  return out;
}
}  // namespace ept
%}

%extend EPTPlugin::EPTForce {
  /// The EPTForce behind a Force returned by System.getForce(), or an exception if it is another force.
  static EPTPlugin::EPTForce& cast(OpenMM::Force& force) {
    auto* ept = dynamic_cast<EPTPlugin::EPTForce*>(&force);
    if (!ept) throw OpenMM::OpenMMException("this Force is not an EPTForce");
    return *ept;
  }
  static bool isinstance(OpenMM::Force& force) { return dynamic_cast<EPTPlugin::EPTForce*>(&force) != nullptr; }

  %pythoncode %{
    def __copy__(self):
        return EPTForce(self)

    def __deepcopy__(self, memo):
        return EPTForce(self)

    def __getstate__(self):
        import openmm
        return openmm.XmlSerializer.serialize(self)

    def __setstate__(self, state):
        import openmm
        source = openmm.XmlSerializer.deserialize(state)  # owns the C++ object while it is copied
        self.__init__(source if isinstance(source, EPTForce) else EPTForce.cast(source))
  %}
}

%pythoncode %{
import enum as _enum


class OutputMode(_enum.IntEnum):
    """The forces an EPTForce returns: Energy, -dE/dx of the energy head (conservative, for MD); Direct, the
    denoising force head (not the gradient of any energy; conserves nothing)."""
    Energy = OutputMode_Energy
    Direct = OutputMode_Direct


class DescriptorLevel(_enum.IntEnum):
    """Rows of descriptors: Atom (ML atoms), Block (residues, heavy-atom groups), Segment (chains, molecules),
    Molecule (one row for the whole ML region)."""
    Atom = DescriptorLevel_Atom
    Block = DescriptorLevel_Block
    Segment = DescriptorLevel_Segment
    Molecule = DescriptorLevel_Molecule
%}
