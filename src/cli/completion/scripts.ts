/**
 * @module cli/completion/scripts
 * The scripts `berth completion bash|zsh|fish` prints. Each is a thin shell
 * adapter, as cobra's are for docker: it passes the words typed so far to
 * `berth __complete` (complete.ts) and offers the lines it answers, honouring
 * the directive on the last line (no space after, no file names).
 */

/** bash: words are re-joined where COMP_WORDBREAKS split them (`busybox:latest`, `--network=x`). */
export const BASH = `# bash completion for berth                                -*- shell-script -*-
# Load it with: source <(berth completion bash)

_berth_complete() {
    # bash splits words at ':' and '=' (COMP_WORDBREAKS); berth wants them whole
    # (image:tag, unix:///socket, --flag=value): words with no blank between them
    # in COMP_LINE are one word again.
    local -a words=()
    local line=\${COMP_LINE-} pos=0 i w gap
    for (( i = 0; i <= COMP_CWORD; i++ )); do
        w=\${COMP_WORDS[i]}
        gap=0
        while (( pos < \${#line} )) && [[ \${line:pos:1} == [[:space:]] ]]; do
            (( pos++ ))
            gap=1
        done
        (( pos += \${#w} ))
        (( i == 0 )) && continue
        if (( \${#words[@]} > 0 && gap == 0 )) && [[ -n $line ]]; then
            words[-1]+=$w
        else
            words+=("$w")
        fi
    done
    (( \${#words[@]} == 0 )) && words=("")
    local cur=\${words[-1]}
    # What bash will replace is only its own last word: strip what came before it.
    local strip=\${cur%"\${COMP_WORDS[COMP_CWORD]}"}

    local out
    out=$("\${COMP_WORDS[0]}" __complete "\${words[@]}" 2>/dev/null) || return
    local directive=\${out##*:}
    [[ $directive =~ ^[0-9]+$ ]] || directive=0
    out=\${out%:*}

    COMPREPLY=()
    local line name
    while IFS= read -r line; do
        [[ -z $line ]] && continue
        name=\${line%%$'\\t'*}
        [[ $name == "$cur"* ]] || continue
        COMPREPLY+=("\${name#"$strip"}")
    done <<< "$out"

    if (( directive & 2 )); then
        compopt -o nospace 2>/dev/null
    fi
    if (( \${#COMPREPLY[@]} == 0 && (directive & 4) == 0 && (directive & 1) == 0 )); then
        compopt -o default 2>/dev/null
    fi
}

complete -F _berth_complete berth
`;

export const ZSH = `#compdef berth
# zsh completion for berth
# Load it with: source <(berth completion zsh)   (after compinit)

_berth() {
    local -a lines completions
    local out directive line name desc
    out=$(\${words[1]} __complete "\${(@)words[2,CURRENT]}" 2>/dev/null) || return 1
    lines=("\${(@f)out}")
    directive=\${lines[-1]#:}
    lines=("\${(@)lines[1,-2]}")
    for line in "\${lines[@]}"; do
        [[ -z $line ]] && continue
        name=\${line%%$'\\t'*}
        desc=""
        [[ $line == *$'\\t'* ]] && desc=\${line#*$'\\t'}
        completions+=("\${name//:/\\\\:}\${desc:+:$desc}")
    done
    if (( \${#completions} )); then
        if (( directive & 2 )); then
            _describe -t berth 'berth' completions -S ''
        else
            _describe -t berth 'berth' completions
        fi
    elif (( ! (directive & 4) && ! (directive & 1) )); then
        _files
    fi
}

if [[ \${funcstack[1]} == _berth ]]; then
    _berth "$@"
else
    compdef _berth berth
fi
`;

export const FISH = `# fish completion for berth
# Load it with: berth completion fish | source

function __berth_complete
    set -l args (commandline -opc)
    set -e args[1]
    set -l cur (commandline -ct)
    set -l out (berth __complete $args $cur 2>/dev/null)
    or return
    set -l directive (string replace -r '^:' '' -- $out[-1])
    set -e out[-1]
    if test (count $out) -eq 0
        if test (math "bitand($directive, 4)") -eq 0
            __fish_complete_path $cur
        end
        return
    end
    printf '%s\\n' $out
end

complete -c berth -f -a '(__berth_complete)'
`;

export const SCRIPTS: Record<string, string> = { bash: BASH, zsh: ZSH, fish: FISH };
