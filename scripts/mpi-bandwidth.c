/* scripts/mpi-bandwidth.c: built and run by scripts/mpi-bandwidth.sh. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* Ping-pong bandwidth between ranks 0 and 1 for a message of N floats, and the time of the
   ordered sum's two collectives (Alltoallv + Allgatherv) over N floats. */
int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size; MPI_Comm_rank(MPI_COMM_WORLD, &rank); MPI_Comm_size(MPI_COMM_WORLD, &size);
    long n = argc > 1 ? atol(argv[1]) : 3320000; int reps = argc > 2 ? atoi(argv[2]) : 10;
    float *a = calloc(n, 4), *b = calloc(n, 4);
    MPI_Barrier(MPI_COMM_WORLD);
    double t = MPI_Wtime();
    for (int i = 0; i < reps; i++) {
        if (rank == 0) { MPI_Send(a, n, MPI_FLOAT, 1, 0, MPI_COMM_WORLD); MPI_Recv(b, n, MPI_FLOAT, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE); }
        else if (rank == 1) { MPI_Recv(b, n, MPI_FLOAT, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE); MPI_Send(a, n, MPI_FLOAT, 0, 0, MPI_COMM_WORLD); }
    }
    double pp = (MPI_Wtime() - t) / (2.0 * reps);
    int *cnt = malloc(size * sizeof(int)), *dsp = malloc(size * sizeof(int)), *rc = malloc(size * sizeof(int)), *rd = malloc(size * sizeof(int));
    for (int r = 0; r < size; r++) { dsp[r] = n * r / size; cnt[r] = n * (r + 1) / size - dsp[r]; }
    for (int r = 0; r < size; r++) { rc[r] = cnt[rank]; rd[r] = r * cnt[rank]; }
    MPI_Barrier(MPI_COMM_WORLD);
    t = MPI_Wtime();
    for (int i = 0; i < reps; i++) {
        MPI_Alltoallv(a, cnt, dsp, MPI_FLOAT, b, rc, rd, MPI_FLOAT, MPI_COMM_WORLD);
        for (int r = 1; r < size; r++) for (int k = 0; k < cnt[rank]; k++) b[k] += b[r * cnt[rank] + k];
        memcpy(a + dsp[rank], b, cnt[rank] * 4);
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, a, cnt, dsp, MPI_FLOAT, MPI_COMM_WORLD);
    }
    double sum = (MPI_Wtime() - t) / reps;
    if (rank == 0) printf("%ld floats (%.1f MB): one-way %.2f ms (%.2f Gbit/s); ordered sum on %d ranks %.2f ms\n",
                          n, n * 4 / 1e6, pp * 1e3, n * 32 / pp / 1e9, size, sum * 1e3);
    MPI_Finalize();
    return 0;
}
