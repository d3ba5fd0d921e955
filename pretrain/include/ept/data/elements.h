#pragma once
// The periodic table as the library needs it: element symbols and single-bond covalent radii, for elements 1..118.
// Our own table, so that reading structures and naming blocks needs no chemistry toolkit.
#include <string>

namespace ept::elements {

/// "C" for 6. Throws InputError outside 1..118.
const std::string& symbol(int atomic_number);
/// The atomic number of a symbol, any case ("CL", "Cl", "cl" -> 17); 0 if it names no element.
int atomic_number(const std::string& symbol);
/// Single-bond covalent radius in Å (Cordero et al., Dalton Trans. 2008, 2832; 1.90 Å beyond curium, where the
/// paper gives none).
double covalent_radius(int atomic_number);

}  // namespace ept::elements
