/* inputs.h — the input samples built into the firmware: inputs.c, which
 * the Makefile writes from the CSV file INPUTS with csv_to_c.awk. */
#ifndef INPUTS_H
#define INPUTS_H

extern const int mcu_n_samples;    /* the file's samples (its lines but blank ones) */
extern const int mcu_n_features;   /* floats a sample: the network's NAME_N_INPUTS */
extern const float mcu_inputs[];   /* mcu_n_samples rows of mcu_n_features, in the file's order */

#endif
