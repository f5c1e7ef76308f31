/*
 * schema.c - the root schema of experiment configs (configs/<name>.yaml): the
 * data, model, train, eval and table sections and their defaults.
 */
#include "autoconfig.h"

#include <stddef.h>
#include <string.h>

#include "core/images.h"
#include "core/model.h"
#include "core/schema.h"

#define GPX_XSTR(x) #x
#define GPX_STR(x) GPX_XSTR(x)

static const char *const table_column_names[] = {
    "n", "final_test_acc", "best_test_acc", "gap", "params", "flops", "memory",
    "epoch_s", "img_per_s", "peak_rss", NULL
};

/* "none" keeps the order of runs.csv; the rest are table_column_names. */
static const char *const table_sort_names[] = {
    "none", "n", "final_test_acc", "best_test_acc", "gap", "params", "flops", "memory",
    "epoch_s", "img_per_s", "peak_rss", NULL
};

static const ycfg_schema group_item[] = {
    { "key", YCFG_STRING, NULL, .help = "a runs.csv column, such as model.head" }
};
static const ycfg_schema column_item[] = {
    { "column", YCFG_ENUM, NULL, .choices = table_column_names, .help = "a table column" }
};

static const ycfg_schema table_keys[] = {
    { "group_by", YCFG_LIST, "[]", .items = group_item,
      .help = "runs.csv columns a row shares ([]: every swept path but *.seed)" },
    { "columns", YCFG_LIST, "[]", .items = column_item,
      .help = "n final_test_acc best_test_acc gap params flops memory epoch_s img_per_s "
              "peak_rss ([]: all)" },
    { "sort", YCFG_ENUM, "none", .choices = table_sort_names,
      .help = "order rows by this column's mean (none: as in runs.csv)" },
    { "descending", YCFG_BOOL, "true", .help = "sort: largest first" },
    { "precision", YCFG_INT, "2", .min = 0, .max = 6, .help = "decimals of accuracies in %" },
    { NULL }
};


static const char *const source_choices[] = { "fashion-mnist", "idx", "cifar10", "npy", "npz",
                                               "imagefolder", "synthetic", NULL };
static const char *const layout_choices[] = { "nhwc", "nchw", "nhw", NULL };
/* In gp_optim_kind and gpx_lr_schedule order: ycfg_enum gives the C value. */
static const char *const optim_choices[] = { "sgd", "adam", "adamw", NULL };
static const char *const schedule_choices[] = { "constant", "step", "cosine", NULL };
static const char *const train_acc_choices[] = { "running", "eval_pass", NULL };

static const ycfg_schema synthetic_keys[] = {
    { "train", YCFG_INT, "2000", .min = 1, .max = 1e7, .help = "training images" },
    { "test", YCFG_INT, "500", .min = 1, .max = 1e7, .help = "test images" },
    { "size", YCFG_INT, "12", .min = 8, .max = 1024, .help = "image height and width" },
    { "classes", YCFG_INT, "4", .min = 2, .max = 10, .help = "classes" },
    { "seed", YCFG_INT, "1", .min = 0, .max = 1e15, .help = "generator seed" },
    { NULL }
};

static const ycfg_schema canvas_keys[] = {
    { "size", YCFG_INT, "0", .min = 0, .max = 1024,
      .help = "square canvas the images are placed on, unchanged (0: none)" },
    { "seed", YCFG_INT, "0", .min = 0, .max = 1e15,
      .help = "the places, drawn once per image of the files" },
    { NULL }
};

static const ycfg_schema augment_keys[] = {
    { "hflip", YCFG_BOOL, "false", .help = "mirror each training image left-right with p 1/2" },
    { "crop_pad", YCFG_INT, "0", .min = 0, .max = 1024,
      .help = "> 0: pad by this many zero pixels, crop the image's own size at random "
              "(torchvision RandomCrop(size, padding))" },
    { NULL }
};

static const ycfg_schema data_keys[] = {
    { "source", YCFG_ENUM, "fashion-mnist", .choices = source_choices,
      .help = "fashion-mnist, cifar10 (searched), idx, npy (files below), npz (file), "
              "imagefolder (PNG folders) or synthetic" },
    { "dir", YCFG_STRING, "\"\"",
      .help = "fashion-mnist, cifar10 directory (default: search); imagefolder: the folder "
              "holding train/ and test/" },
    { "train_images", YCFG_STRING, "\"\"",
      .help = "idx, npy: training images file; imagefolder: training root" },
    { "train_labels", YCFG_STRING, "\"\"", .help = "idx, npy: training labels file" },
    { "test_images", YCFG_STRING, "\"\"",
      .help = "idx, npy: test images file; imagefolder: test root" },
    { "test_labels", YCFG_STRING, "\"\"", .help = "idx, npy: test labels file" },
    { "file", YCFG_STRING, "\"\"",
      .help = "npz: the archive (members x_train, y_train, x_test, y_test)" },
    { "layout", YCFG_ENUM, "nhwc", .choices = layout_choices,
      .help = "npy, npz: the images' dimensions: nhwc, nchw or nhw (one channel)" },
    { "channels", YCFG_INT, "0", .min = 0, .max = 4,
      .help = "imagefolder: convert every image to 1 (grey) or 3 (RGB) channels (0: 3); "
              "others: 0 or the source's own, checked" },
    { "classes", YCFG_INT, "0", .min = 0, .max = 1e6,
      .help = "labels lie in [0, classes), else an error (0: fashion-mnist 10, synthetic "
              "synthetic.classes, idx the number of different training labels)" },
    { "normalize", YCFG_BOOL, "false",
      .help = "after pixel/255, subtract mean and divide by std" },
    { "mean", YCFG_FLOAT, "0", .or_list = 1,
      .max_items = GPX_MAX_CHANNELS,
      .help = "normalize: mean, one for every channel or a list of one per channel (with "
              "std 0: computed per channel)" },
    { "std", YCFG_FLOAT, "0", .min = 0, .max = 1e9, .or_list = 1,
      .max_items = GPX_MAX_CHANNELS,
      .help = "normalize: std, one or one per channel (each > 0); 0 computes mean and std "
              "per channel from the training images" },
    { "validation", YCFG_INT, "0", .min = 0, .max = 1e8,
      .help = "hold out the last N training images for validation" },
    { "train_limit", YCFG_INT, "0", .min = 0, .max = 1e9, .help = "use only the first N (0: all)" },
    { "test_limit", YCFG_INT, "0", .min = 0, .max = 1e9, .help = "use only the first N (0: all)" },
    { "train_subset", YCFG_INT, "0", .min = 0, .max = 1e9,
      .help = "train on N of the training images drawn by subset_seed (0: all)" },
    { "subset_seed", YCFG_INT, "0", .min = 0, .max = 1e15, .help = "train_subset's draw" },
    { "synthetic", YCFG_MAP, "{}", .items = synthetic_keys, .help = "the synthetic set" },
    { "resize", YCFG_INT, "0", .min = 0, .max = 1024,
      .help = "train and test at this square size (bilinear); 0 keeps the data's own" },
    { "canvas", YCFG_MAP, "{}", .items = canvas_keys,
      .help = "each image at a seeded place on a larger zero canvas, the same in every "
              "run (the localization study); not with resize or eval.sizes" },
    { "augment", YCFG_MAP, "{}", .items = augment_keys,
      .help = "seeded flips and padded random crops of the training batches" },
    { NULL }
};

static const char *const size_method_choices[] = { "resize", "canvas_center", "canvas_random",
                                                   NULL };
static const ycfg_schema eval_size_item[] = {
    { "size", YCFG_INT, NULL, .min = 1, .max = 4096, .help = "square input size" },
    { NULL }
};
static const ycfg_schema eval_method_item[] = {
    { "method", YCFG_ENUM, NULL, .choices = size_method_choices, .help = "how to get there" },
    { NULL }
};
static const ycfg_schema eval_keys[] = {
    { "sizes", YCFG_LIST, "[]", .items = eval_size_item,
      .help = "after training, test at these input sizes too (evals.csv)" },
    { "methods", YCFG_LIST, "[resize, canvas_center, canvas_random]", .min = 1, .max = 3,
      .items = eval_method_item,
      .help = "resize (bilinear), canvas_center, canvas_random (image on a larger canvas)" },
    { "seed", YCFG_INT, "0", .min = 0, .max = 1e15, .help = "canvas_random positions" },
    { "batch", YCFG_INT, "250", .min = 1, .max = 65536, .help = "evaluation batch" },
    { NULL }
};

static const ycfg_schema lr_item[] = {
    { "lr", YCFG_FLOAT, NULL, .min = 1e-12, .max = 1e3, .help = "a learning rate" },
    { NULL }
};
static const ycfg_schema lr_search_keys[] = {
    { "grid", YCFG_LIST, "[]", .min = 0, .max = 32, .items = lr_item,
      .help = "rates to try ([]: no search, train.lr is used)" },
    { "epochs", YCFG_INT, "2", .min = 1, .max = 1e5, .help = "each trial's epochs" },
    { "steps", YCFG_INT, "0", .min = 0, .max = 1e9,
      .help = "> 0: each trial's optimizer steps instead of epochs" },
    { "holdout", YCFG_INT, "5000", .min = 1, .max = 1e8,
      .help = "the last N training images, held out to score the trials on" },
    { "seed", YCFG_INT, "0", .min = 0, .max = 1e15, .help = "the trials' seed" },
    { NULL }
};

static const ycfg_schema train_keys[] = {
    { "epochs", YCFG_INT, "3", .min = 1, .max = 1e5, .help = "passes over the training set" },
    { "steps", YCFG_INT, "0", .min = 0, .max = 1e9,
      .help = "> 0: this many optimizer steps instead of epochs, evaluated once at the end" },
    { "batch", YCFG_INT, "64", .min = 1, .max = 65536, .help = "images per step" },
    { "shuffle", YCFG_BOOL, "true", .help = "reshuffle the training set every epoch" },
    { "seed", YCFG_INT, "0", .min = 0, .max = 1e15, .help = "weights and shuffling" },
    { "threads", YCFG_INT, "0", .min = 0, .max = 1024, .help = "OpenMP threads; 0: all CPUs" },
    { "optimizer", YCFG_ENUM, "adam", .choices = optim_choices, .help = "sgd, adam, adamw" },
    { "lr", YCFG_FLOAT, "1e-3", .min = 0, .max = 1e3, .help = "learning rate" },
    { "momentum", YCFG_FLOAT, "0", .min = 0, .max = 1, .help = "sgd momentum" },
    { "dampening", YCFG_FLOAT, "0", .min = 0, .max = 1, .help = "sgd dampening" },
    { "nesterov", YCFG_BOOL, "false", .help = "sgd Nesterov momentum" },
    { "weight_decay", YCFG_FLOAT, "0", .min = 0, .max = 10,
      .help = "L2 (sgd, adam) or decoupled (adamw) weight decay" },
    { "beta1", YCFG_FLOAT, "0.9", .min = 0, .max = 1, .help = "adam first-moment decay" },
    { "beta2", YCFG_FLOAT, "0.999", .min = 0, .max = 1, .help = "adam second-moment decay" },
    { "eps", YCFG_FLOAT, "1e-8", .min = 0, .max = 1, .help = "adam epsilon" },
    { "schedule", YCFG_ENUM, "constant", .choices = schedule_choices,
      .help = "lr schedule per epoch" },
    { "step_size", YCFG_INT, "1", .min = 1, .max = 1e5, .help = "step: epochs per decay" },
    { "gamma", YCFG_FLOAT, "0.1", .min = 0, .max = 1, .help = "step: decay factor" },
    { "min_lr", YCFG_FLOAT, "0", .min = 0, .max = 1e3, .help = "cosine: final lr" },
    { "loss_on_sigmoid", YCFG_BOOL, "false",
      .help = "softmax cross-entropy on sigmoid(outputs) (the tutorial's loss)" },
    { "train_accuracy", YCFG_ENUM, "running", .choices = train_acc_choices,
      .help = "running (during the epoch) or eval_pass (no-grad pass after it)" },
    { "checkpoint", YCFG_BOOL, "true", .help = "save weights and optimizer state each epoch" },
    { "keep_weights", YCFG_BOOL, "false", .id_exempt = 1,
      .help = "keep the final weights (no optimizer state) in runs/<id>/weights/, for "
              "gpool cam (not part of run ids: it changes no result)" },
    { "tensorboard", YCFG_BOOL, "false",
      .help = "runs/<id>/events.out.tfevents.gpool: the epochs' scalars for TensorBoard" },
    { "lr_search", YCFG_MAP, "{}", .items = lr_search_keys,
      .help = "choose lr per group of runs (all but the seed alike) on held-out images" },
    { NULL }
};

/* The name becomes results/<name>/ and a gnuplot title: "../x", "/abs", ""
 * or a newline would write elsewhere or break the charts after every run. */
const char *gpx_name_problem(const char *name)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789._-";
    size_t len = strlen(name);
    if (len == 0)
        return "must not be empty: it names the directory results/<name>/";
    if (len > GPX_MAX_NAME_LEN)
        return "must be at most " GPX_STR(GPX_MAX_NAME_LEN) " characters";
    if (strchr(name, '/'))
        return "must be one directory name, without '/' (it becomes results/<name>/)";
    if (strspn(name, safe) != len)
        return "may contain only letters, digits, '.', '_' and '-' "
               "(it becomes results/<name>/)";
    if (name[0] == '.')
        return "must not start with '.' (it becomes results/<name>/)";
    return NULL;
}

static const ycfg_schema root_keys[] = {
    { "name", YCFG_STRING, NULL, .check = gpx_name_problem,
      .help = "experiment name: results/<name>/" },
    { "description", YCFG_STRING, "\"\"", .help = "one line for the manifest" },
    { "data", YCFG_MAP, "{}", .items = data_keys, .help = "data set" },
    { "model", YCFG_MAP, NULL, .items = gpx_model_schema, .help = "trunk and head" },
    { "train", YCFG_MAP, "{}", .items = train_keys, .help = "training protocol" },
    { "eval", YCFG_MAP, "{}", .items = eval_keys, .help = "evaluation at other input sizes" },
    { "table", YCFG_MAP, "{}", .items = table_keys, .id_exempt = 1,
      .help = "gpool table: grouping, columns and order (not part of run ids)" },
    { NULL }
};

const ycfg_schema *gpx_run_schema(void)
{
    return root_keys;
}

