/*
 * tfevents.h - a run's epochs as a TensorBoard event file
 * (runs/<id>/events.out.tfevents.gpool, with train.tensorboard: true), so a
 * run can be watched live in the viewer researchers already use:
 *
 *     tensorboard --logdir results/<name>/runs
 *
 * The file is TensorFlow's record format (each record: uint64 length,
 * masked CRC-32C of the length, the bytes, masked CRC-32C of the bytes),
 * each record an Event protocol buffer: a file_version event first, then per
 * epoch one event (step = the epoch) whose summary holds simple_value
 * scalars: loss/{train,val,test}, accuracy/{train,val,test} (fractions, as
 * epochs.csv has them; a split the run does not have is left out), lr and
 * img_per_s. The protobuf fields are encoded by hand here: five of them
 * are all a viewer reads.
 *
 * The file is opened (truncated) when the run starts and each epoch
 * appended and flushed as the run reports it; a run continued from its
 * checkpoint reports its earlier epochs again, so the file always holds
 * every epoch once.
 *
 *     gpx_tfevents tf;
 *     if (gpx_tfevents_open(&tf, run_dir, err, sizeof err)) ...
 *     ... gpx_tfevents_epoch(&row, &tf) per epoch (a gpx_epoch_fn) ...
 *     if (gpx_tfevents_close(&tf, err, sizeof err)) ...
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_TFEVENTS_H
#define GPOOL_EXPERIMENTS_RECORDS_TFEVENTS_H

#include <stddef.h>
#include <stdio.h>

#include "core/train.h"

/* Its name in a run's folder ("tfevents" in it is how viewers find it). */
#define GPX_TFEVENTS_NAME "events.out.tfevents.gpool"

typedef struct {
    FILE *fp;
    char  path[4200];
    char  error[256];   /* the first write that failed ("" none): close reports it */
} gpx_tfevents;

/* RUN_DIR/events.out.tfevents.gpool created (RUN_DIR too), emptied, and its
 * file_version event written. 0, or -1 with err naming the file. */
int  gpx_tfevents_open (gpx_tfevents *tf, const char *run_dir, char *err, size_t errlen);

/* One epoch's event appended and flushed; ctx is the gpx_tfevents. Always 0:
 * a failed write is kept for close to report and does not stop the run. */
int  gpx_tfevents_epoch(const gpx_epoch_row *row, void *ctx);

/* Close the file: 0, or -1 with err when a write or the close failed. */
int  gpx_tfevents_close(gpx_tfevents *tf, char *err, size_t errlen);

#endif /* GPOOL_EXPERIMENTS_RECORDS_TFEVENTS_H */
