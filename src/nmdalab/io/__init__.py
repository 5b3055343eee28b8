"""Import and export: SBML (libsbml), ..."""
