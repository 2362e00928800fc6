function __rnn-fit_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __rnn-fit_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __rnn-fit_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __rnn-fit_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __rnn-fit_parse_tokens -S
    set -l unparsed_tokens (__rnn-fit_tokens -pc)
    switch $unparsed_tokens[1]
    case 'rnn-fit'
        __rnn-fit_parse_subcommand -r 1 'vocab=' 'o/output=' 'cell=' 'layers=' 'bidirectional' 'hidden=' 'embed-dim=' 'freeze-embeddings' 'dropout=' 'head-dropout=' 'embed-dropout=' 'epochs=' 'batch-size=' 'lr=' 'weight-decay=' 'clip=' 'lr-decay=' 'lr-schedule=' 'max-time=' 'eval-every=' 'valid=' 'valid-split=' 'test=' 'seed=' 'threads=' 'padded' 'resume=' 'log=' 'plot=' 'lm' 'seq-len=' 'h/help'
        switch $unparsed_tokens[1]
        case 'help'
            __rnn-fit_parse_subcommand -r 1 
        end
    end
end

function __rnn-fit_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __rnn-fit_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __rnn-fit_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __rnn-fit_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__rnn-fit_tokens -p)
    if test -z "$(__rnn-fit_tokens -t)"
        set -l index (count (__rnn-fit_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'rnn-fit' -f
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" vocab' -l 'vocab' -d 'Vocabulary the data was encoded with (rnn-vocab -o). With --lm: an optional \'rnn-vocab --chars\' alphabet.' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" o output' -l 'output' -s 'o' -d 'Best checkpoint (lowest validation loss). The training state goes to OUTPUT.state. Default with --resume: the resumed checkpoint.' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" cell' -l 'cell' -d 'Recurrent cell (default: gru; --lm: lstm).' -rfka 'rnn lstm gru'
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" layers' -l 'layers' -d 'Stacked recurrent layers (default: 1; --lm: 2).' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" bidirectional' -l 'bidirectional' -d 'Bidirectional recurrent layers (features: last forward and backward states, 2H). Classifiers only.'
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" hidden' -l 'hidden' -d 'Hidden size H of each direction (default: 128; --lm: 256).' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" embed-dim' -l 'embed-dim' -d 'Embedding size E (classifier: needed when the vocabulary has no vectors, must equal their dimension otherwise; --lm default 64).' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" freeze-embeddings' -l 'freeze-embeddings' -d 'Keep the embedding fixed (no gradient, no update). Classifiers only.'
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" dropout' -l 'dropout' -d 'Dropout between stacked recurrent layers (needs --layers >= 2 to have an effect; default 0).' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" head-dropout' -l 'head-dropout' -d 'Dropout on the features before the linear layer (the reference tutorial uses 0.5). Classifiers only.' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" embed-dropout' -l 'embed-dropout' -d 'Dropout on the embedded tokens, the recurrence\'s input (the reference tutorial\'s code uses 0.5). Classifiers only.' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" epochs' -l 'epochs' -d 'Epochs to train (with --resume: the total, counting the epochs already done; default: 3; --lm: 10).' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" batch-size' -l 'batch-size' -d 'Records per training batch (--lm: parallel text streams; default 32).' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" lr' -l 'lr' -d 'Adam learning rate (default: 0.001; --lm: 0.002).' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" weight-decay' -l 'weight-decay' -d 'L2 weight decay added to the gradients (torch.optim.Adam weight_decay; default 0).' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" clip' -l 'clip' -d 'Clip the global gradient norm to this value before every step (default: none; --lm: 5; 0: none).' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" lr-decay' -l 'lr-decay' -d 'Multiply the learning rate by this factor after every epoch (default 1).' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" lr-schedule' -l 'lr-schedule' -d 'Learning-rate schedule: constant, or cosine (falls along a half cosine to 5% of --lr over the run: --epochs, or --max-time when that comes first).' -rfka 'constant cosine'
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" max-time' -l 'max-time' -d 'Wall-clock budget, e.g. 600, 90s, 10m, 1.5h, counted from the start of the command and including the final evaluation (and --test): training stops in time to evaluate, keep the best checkpoint and write the state. With --resume, the budget of the resumed run.' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" eval-every' -l 'eval-every' -d 'Also evaluate (and keep the best checkpoint) every this many steps (0: at epoch ends only).' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" valid' -l 'valid' -d 'Encoded validation data (default: hold out --valid-split of DATA). With --lm: a validation text file.' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" valid-split' -l 'valid-split' -d 'Fraction of DATA held out at random (seeded) for validation when --valid is not given; 0: no validation (the latest weights are kept). Default 0.2; --lm: the last 0.1 of the text.' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" test' -l 'test' -d 'Encoded test data: evaluate the kept checkpoint on it at the end (loss and accuracy on stderr). Classifiers only.' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" seed' -l 'seed' -d 'Seed of the initialisation, the validation split, shuffling and dropout (same seed and --threads: same result; default: 42; --lm: 1).' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" threads' -l 'threads' -d 'Worker threads.' -rfka '1 2'
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" padded' -l 'padded' -d 'Run the recurrence over the pads of the encoded fixed length too (reference semantics) instead of packed sequences. Classifiers only.'
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" resume' -l 'resume' -d 'Continue the run of this checkpoint from its training state (CKPT.state) up to --epochs. The model, data split and optimizer settings come from the state (giving different ones is an error).' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" log' -l 'log' -d 'Append one JSON line per evaluation (and per checkpoint) to this file (truncated first unless resuming).' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" plot' -l 'plot' -d 'Draw train/validation loss (and accuracy) per evaluation into this SVG file (rewritten every time).' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" lm' -l 'lm' -d 'Train a character language model on raw UTF-8 text (the input files, plain or .gz, or stdin) instead of a classifier.'
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" seq-len' -l 'seq-len' -d 'Language model: characters per training chunk (truncated backpropagation through time; the state is carried between chunks; default 128).' -rfka ''
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_flags_or_options "rnn-fit" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'rnn-fit' -n '__rnn-fit_should_offer_completions_for_positional "rnn-fit" -eq 1' -fa 'help' -d 'Show subcommand help information.'
