// Open MPI's C interface, and the handles Swift cannot import: Open MPI defines MPI_COMM_WORLD,
// MPI_FLOAT, MPI_BYTE and MPI_ERRORS_RETURN as casts of the addresses of global objects, which
// are macros Swift does not see. These inline functions return them.
#include <mpi.h>

static inline MPI_Comm quill_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype quill_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype quill_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype quill_mpi_int(void) { return MPI_INT; }
static inline MPI_Errhandler quill_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int quill_mpi_success(void) { return MPI_SUCCESS; }
static inline void *quill_mpi_in_place(void) { return MPI_IN_PLACE; }
